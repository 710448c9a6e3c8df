//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

@Suite struct PriceTests {
    static func price(_ input: String, cached: String? = nil, output: String, reasoning: String? = nil, currency: Price.Currency = .usd) -> Price {
        Price(
            input: Price.perToken(fromPerMillion: input)!,
            cachedInput: cached.flatMap(Price.perToken(fromPerMillion:)),
            cacheWrite: nil,
            output: Price.perToken(fromPerMillion: output)!,
            reasoning: reasoning.flatMap(Price.perToken(fromPerMillion:)),
            currency: currency
        )
    }

    @Test func cachedTokensArePricedApartFromThePrompt() {
        // DeepSeek: 1,000 prompt tokens of which 600 cached, 200 output.
        let cost = Self.price("0.28", cached: "0.028", output: "0.42").cost(of: Usage(inputTokens: 1000, outputTokens: 200, cachedInputTokens: 600))
        // 400 × 0.28 + 600 × 0.028 + 200 × 0.42 = 112 + 16.8 + 84 = 212.8 per million.
        #expect(cost.description == "0.0002128")
    }

    @Test func reasoningTokensUseTheirOwnPriceWhenGiven() {
        let usage = Usage(inputTokens: 100, outputTokens: 1000, reasoningTokens: 800)
        // qwen-turbo in CNY: 100 × 0.3 + 200 × 0.6 + 800 × 3.0 = 30 + 120 + 2400 = 2550 per million.
        #expect(Self.price("0.3", output: "0.6", reasoning: "3.0", currency: .cny).cost(of: usage).description == "0.00255")
        // Without a reasoning price, reasoning is output (OpenAI o-series).
        #expect(Self.price("1.1", output: "4.4").cost(of: usage).description == "0.00451")
    }

    @Test func cachedPriceFallsBackToInput() {
        let cost = Self.price("2", output: "8").cost(of: Usage(inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 500_000))
        #expect(cost.description == "2")
    }

    @Test func sumsAreExact() {
        let price = Self.price("0.1", output: "0.2")
        var total = Money(picos: 0)
        for _ in 0..<1000 { total = total + price.cost(of: Usage(inputTokens: 10, outputTokens: 10)) }
        #expect(total.description == "0.003")
    }

    @Test(arguments: [("0.28", Int64(280_000)), ("0.075", 75_000), ("2.5", 2_500_000), ("0", 0), ("15", 15_000_000), ("0.000001", 1)])
    func pricesPerMillionAreExactPerToken(text: String, picos: Int64) {
        #expect(Price.perToken(fromPerMillion: text) == Money(picos: picos))
    }

    @Test(arguments: ["-1", "abc", "0.0000001", "1.", ".5", "1e3", ""])
    func invalidPricesAreRejected(text: String) {
        #expect(Price.perToken(fromPerMillion: text) == nil)
    }

    @Test func moneyPrintsAsPlainDecimals() {
        #expect(Money(picos: 212_800_000).description == "0.0002128")
        #expect(Money(picos: 12 * Money.picosPerUnit).description == "12")
        #expect(Money(picos: 1).description == "0.000000000001")
        #expect(Money(picos: -1_500_000_000_000).description == "-1.5")
        #expect(Money(picos: 212_800_000).json.jsonString == "0.0002128")
    }

    /// The decimal form of every sign, size and number of places; non-negative amounts (prices)
    /// round-trip through parsing.
    @Test func amountsPrintInTheirShortestDecimalForm() {
        let cases: [(Int64, String)] = [
            (0, "0"), (1, "0.000000000001"), (-1, "-0.000000000001"), (2_000_000_000_000, "2"),
            (-2_500_000_000_000, "-2.5"), (212_800_000, "0.0002128"), (Int64.max, "9223372.036854775807"),
            (Int64.min + 1, "-9223372.036854775807"),
        ]
        for (picos, text) in cases { #expect(Money(picos: picos).description == text) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let money = Money(picos: Int64.random(in: 0...1_000_000_000_000_000, using: &generator))
            #expect(Money(parsing: money.description) == money, "\(money.description)")
        }
    }
}
