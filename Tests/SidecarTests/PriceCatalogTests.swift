//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

/// Reading LiteLLM's catalog and converting its per-token floats to exact prices.
@Suite struct PriceCatalogTests {
    static func perMillion(_ money: Money?) -> String? { money.map { $0.times(1_000_000).description } }

    @Test(arguments: [
        ("2.5e-06", "2.5"), ("1.1e-07", "0.11"), ("1e-05", "10"), ("2.8e-08", "0.028"), ("2.5e-08", "0.025"), ("0.0", "0"), ("0", "0"),
        ("0.0000025", "2.5"), ("1.0000000000000001e-07", "0.1"), ("3.0001999999999996e-07", "0.30002"),
        ("1.5000020000000002e-05", "15.00002"), ("1.1428571428571428e-06", "1.142857"), ("1.25e-06", "1.25"), ("7.5e-08", "0.075"),
    ])
    func perTokenFloatsBecomeExactPricesPerMillion(literal: String, perMillion: String) throws {
        let number = try #require(JSONNumber(literal: literal))
        #expect(Self.perMillion(PriceCatalog.perToken(.number(number))) == perMillion)
    }

    @Test func unusablePricesAreIgnored() {
        #expect(PriceCatalog.perToken(nil) == nil)
        #expect(PriceCatalog.perToken(.null) == nil)
        #expect(PriceCatalog.perToken("0.1") == nil)
        #expect(PriceCatalog.perToken(.number(JSONNumber(literal: "-1e-06")!)) == nil)
    }

    @Test(arguments: [
        ("0.0002128", Int64(212_800_000)), ("12", 12_000_000_000_000), ("1e-12", 1), ("5e-13", 1), ("4.9e-13", 0), ("0.0000000000015", 2),
        ("1E+2", 100_000_000_000_000), ("0.000", 0), ("007", 7_000_000_000_000),
    ])
    func decimalsRoundToWholePicounits(text: String, picos: Int64) {
        #expect(Money(roundingDecimal: text) == Money(picos: picos))
    }

    @Test(arguments: ["-1", "abc", "1.", ".5", "1e", "1e+", "1.5x", "", "inf", "1e99999", "10000000"])
    func invalidOrHugeDecimalsAreRejected(text: String) {
        #expect(Money(roundingDecimal: text) == nil)
    }

    /// A catalog's limits get the bounds `sidecar.yaml` has (1...100,000,000): the quotas multiply
    /// the output limit by `n`, which must not overflow.
    @Test func limitsOutsideTheConfigurationsBoundsAreIgnored() throws {
        let json = #"""
            {"gpt-4o": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06,
                        "max_input_tokens": 9223372036854775807, "max_output_tokens": 100000001}}
            """#
        let entry = try #require(try PriceCatalog(litellmJSON: Array(json.utf8)).entry(.openAI, model: "gpt-4o"))
        #expect(entry.contextWindow == nil && entry.maxOutputTokens == nil)
    }

    @Test func theFixtureKeepsOnlyTheSidecarsVendors() throws {
        let catalog = try PriceCatalog(litellmJSON: Fixture.bytes("pricing/model_prices_and_context_window.json"))
        #expect(catalog.modelsRead == 12)
        #expect(catalog.entries.count == 8)
        let gpt = try #require(catalog.entry(.openAI, model: "gpt-4o")?.price)
        #expect(Self.perMillion(gpt.input) == "2.5")
        #expect(Self.perMillion(gpt.cachedInput) == "1.25")
        #expect(Self.perMillion(gpt.output) == "10")
        #expect(gpt.currency == .usd)
        #expect(catalog.entry(.openAI, model: "gpt-4o")?.contextWindow == 128_000)
        #expect(Self.perMillion(catalog.entry(.openAI, model: "gpt-4.1-nano")?.price?.cachedInput) == "0.025")
        // An embedding model without an output price costs nothing for output.
        #expect(Self.perMillion(catalog.entry(.openAI, model: "text-embedding-3-small")?.price?.output) == "0")
        // `deepseek/deepseek-chat` wins over `deepseek-chat` (it has a cache-write price of 0).
        #expect(Self.perMillion(catalog.entry(.deepSeek, model: "deepseek-chat")?.price?.cacheWrite) == "0")
        // The bare `gemini-2.5-flash` is Vertex AI's; the Gemini API's is `gemini/gemini-2.5-flash`.
        #expect(Self.perMillion(catalog.entry(.gemini, model: "gemini-2.5-flash")?.price?.reasoning) == "2.5")
        #expect(catalog.entry(.gemini, model: "gemini-2.5-flash")?.maxOutputTokens == 65_536)
        #expect(catalog.entry(.dashScope, model: "qwen3-max")?.price == nil)
        #expect(catalog.entry(.dashScope, model: "qwen3-max")?.contextWindow == 258_048)
        #expect(catalog.entry(.openAI, model: "azure/us/gpt-4.1-nano-2025-04-14") == nil)
    }
}
