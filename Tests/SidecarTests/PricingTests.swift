//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import TestSupport
import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

/// Effective dates, the built-in table, the community catalog and their precedence.
@Suite struct PricingTests {
    static let providers = """
        providers:
          openai: { dialect: openai, base_url: https://api.openai.com/v1, api_key_env: OPENAI_KEY }
          deepseek: { dialect: deepseek, base_url: https://api.deepseek.com, api_key_env: DEEPSEEK_KEY }
          dashscope: { dialect: dashscope, base_url: https://dashscope.test/v1, api_key_env: DASHSCOPE_KEY }
          gemini: { dialect: gemini, base_url: https://gemini.test, api_key_env: GEMINI_KEY }
          local: { dialect: openai-compatible, base_url: http://127.0.0.1:11434/v1 }

        """

    static func day(_ text: String) -> CalendarDay { CalendarDay(parsing: text)! }

    static func perMillion(_ money: Money?) -> String? { money.map { $0.times(1_000_000).description } }

    func parse(_ models: String, pricing: String = "", file: String = "test.yaml") throws -> SidecarConfiguration {
        try SidecarConfiguration.parse(yaml: Self.providers + pricing + "models:\n" + models, file: file, environment: [:])
    }

    func problems(_ models: String) -> [String] {
        do {
            _ = try self.parse(models)
            return []
        } catch let error as ConfigurationError {
            return error.problems.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    /// The price `model` is billed at on `day` through its first deployment.
    func price(_ configuration: SidecarConfiguration, _ model: String, on day: String) -> ModelPricing.Resolved? {
        configuration.models.resolve(model)?.entry.resolvedPrice(on: Self.day(day))
    }

    // MARK: Effective dates

    @Test func theLatestPriceInForceOnTheDayApplies() throws {
        let configuration = try self.parse(
            """
              ds:
                provider: deepseek
                upstream_model: unknown-to-the-tables
                price:
                  - { input: 0.27, cached_input: 0.07, output: 1.10 }
                  - { effective: 2025-09-29, input: 0.28, cached_input: 0.028, output: 0.42 }
                  - { effective: "2025-09-06", input: 0.56, output: 1.68 }
            """
        )
        let expectations = [
            ("2020-01-01", "0.27"), ("2025-09-05", "0.27"), ("2025-09-06", "0.56"), ("2025-09-28", "0.56"), ("2025-09-29", "0.28"),
            ("2030-12-31", "0.28"),
        ]
        for (day, input) in expectations {
            let resolved = try #require(self.price(configuration, "ds", on: day))
            #expect(Self.perMillion(resolved.price.input) == input, "on \(day)")
            #expect(resolved.origin == .configured)
        }
        #expect(self.price(configuration, "ds", on: "2025-09-29")?.effective == Self.day("2025-09-29"))
    }

    @Test func beforeTheFirstDatedPriceAModelIsUnpriced() throws {
        let configuration = try self.parse(
            """
              local-model:
                provider: local
                price: { effective: 2026-01-01, input: 1, output: 2 }
            """
        )
        #expect(self.price(configuration, "local-model", on: "2025-12-31") == nil)
        #expect(Self.perMillion(self.price(configuration, "local-model", on: "2026-01-01")?.price.output) == "2")
    }

    @Test func scheduleSelectionWithExplicitDays() {
        let cheap = PriceTests.price("1", output: "1")
        let dear = PriceTests.price("2", output: "2")
        let schedule = PriceSchedule([
            PriceSchedule.Entry(effective: Self.day("2026-03-01"), price: dear),
            PriceSchedule.Entry(effective: Self.day("2026-01-01"), price: cheap),
        ])
        #expect(schedule.entry(on: Self.day("2025-12-31")) == nil)
        #expect(schedule.entry(on: Self.day("2026-01-01"))?.price == cheap)
        #expect(schedule.entry(on: Self.day("2026-02-28"))?.price == cheap)
        #expect(schedule.entry(on: Self.day("2026-03-01"))?.price == dear)
        // 2026-02-28T23:59:59Z and 2026-03-01T00:00:00Z: the UTC day decides.
        #expect(schedule.price(at: Date(timeIntervalSince1970: 1_772_323_199)) == cheap)
        #expect(schedule.price(at: Date(timeIntervalSince1970: 1_772_323_200)) == dear)
    }

    @Test(arguments: [
        ("2024-02-29", 19_782), ("1970-01-01", 0), ("1969-12-31", -1), ("2000-03-01", 11_017), ("2026-11-27", 20_784),
    ])
    func calendarDaysRoundTrip(text: String, days: Int) throws {
        let day = try #require(CalendarDay(parsing: text))
        #expect(day.daysSinceEpoch == days)
        #expect(day.description == text)
        #expect(CalendarDay(daysSinceEpoch: days).description == text)
    }

    @Test(arguments: ["2025-02-29", "2025-13-01", "2025-00-10", "2025-1-01", "25-01-01", "2025/01/01", "2025-01-01T00:00:00Z", ""])
    func invalidDaysAreRejected(text: String) {
        #expect(CalendarDay(parsing: text) == nil)
    }

    @Test func priceScheduleProblemsNameTheirEntry() {
        let problems = self.problems(
            """
              a:
                provider: local
                price:
                  - { input: 1, output: 1 }
                  - { input: 2, output: 2 }
                  - { effective: 2025-13-01, input: 3, output: 3 }
                  - { effective: 2025-09-29, input: 4, output: 4 }
                  - { effective: 2025-09-29, input: 5, output: 5, since: now }
              b:
                provider: local
                price: []
            """
        )
        #expect(
            problems == [
                "test.yaml:12: models.a.price[1]: only one price may leave out effective (it applies before the first dated one)",
                "test.yaml:13: models.a.price[2].effective: must be a date YYYY-MM-DD (UTC), such as 2025-09-29, not '2025-13-01'",
                "test.yaml:15: models.a.price[4].since: unknown field 'since' (known fields: cache_write, cached_input, currency, "
                    + "effective, input, output, reasoning)",
                "test.yaml:15: models.a.price[4].effective: another price of this model is effective on 2025-09-29 too",
                "test.yaml:18: models.b.price: must be a price or a list of prices",
            ]
        )
    }

    // MARK: Built-in prices

    @Test func modelsWithoutAPriceUseTheBuiltInTableOfTheirVendor() throws {
        let configuration = try self.parse(
            """
              deepseek-chat:
                provider: deepseek
              flash:
                provider: gemini
                upstream_model: gemini-2.5-flash
            """
        )
        let deepseek = try #require(self.price(configuration, "deepseek-chat", on: "2026-11-27"))
        #expect(deepseek.origin == .builtIn)
        #expect(deepseek.effective == Self.day("2025-09-29"))
        #expect(Self.perMillion(deepseek.price.cachedInput) == "0.028")
        // The built-in table has DeepSeek's earlier prices too.
        #expect(Self.perMillion(self.price(configuration, "deepseek-chat", on: "2025-09-28")?.price.input) == "0.56")
        #expect(Self.perMillion(self.price(configuration, "deepseek-chat", on: "2025-03-01")?.price.output) == "1.1")
        #expect(self.price(configuration, "deepseek-chat", on: "2024-12-31") == nil)
        #expect(Self.perMillion(self.price(configuration, "flash", on: "2026-11-27")?.price.output) == "2.5")
        #expect(configuration.models.resolve("flash")?.entry.price?.currency == .usd)
    }

    @Test func everyBuiltInRowIsValidAndUnique() {
        var seen: Set<String> = []
        for row in BuiltInPrices.rows {
            for amount in [row.input, row.output] + [row.cachedInput, row.cacheWrite, row.reasoning].compactMap({ $0 }) {
                #expect(Price.perToken(fromPerMillion: amount) != nil, "\(row.model): \(amount)")
            }
            if let effective = row.effective { #expect(CalendarDay(parsing: effective) != nil, "\(row.model): \(effective)") }
            #expect(seen.insert("\(row.vendor)/\(row.model)/\(row.effective ?? "-")").inserted, "\(row.model) twice")
            #expect(!row.source.isEmpty)
        }
    }

    @Test func theShippedConfigurationPricesEveryModel() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../sidecar.yaml")
        let configuration = try SidecarConfiguration.parse(yaml: try String(contentsOf: url, encoding: .utf8), file: "sidecar.yaml", environment: [:])
        #expect(configuration.unpricedModelsWarning(on: Self.day("2026-11-27")) == nil)
        #expect(!configuration.warnings.contains { $0.hasPrefix("no price") })
        // Without its own price, each deployment of deepseek-v3 is billed at its vendor's price.
        let entry = try #require(configuration.models.resolve("deepseek-v3")?.entry)
        let day = Self.day("2026-11-27")
        #expect(entry.pricing.resolve(vendor: .deepSeek, upstreamModel: "deepseek-chat", on: day)?.price.currency == .usd)
        #expect(entry.pricing.resolve(vendor: .dashScope, upstreamModel: "deepseek-v3", on: day)?.price.currency == .cny)
    }

    // MARK: Precedence and the catalog

    func withCatalog() throws -> String {
        "pricing:\n  catalog: \(try Fixture.path("pricing/model_prices_and_context_window.json"))\n"
    }

    @Test func sidecarYAMLWinsOverTheCatalogWhichWinsOverBuiltIn() throws {
        let configuration = try self.parse(
            """
              gpt-4o:
                provider: openai
              gpt-4o-priced:
                provider: openai
                upstream_model: gpt-4o
                price: { input: 1, output: 2 }
              qwen3-max:
                provider: dashscope
              qwen-plus:
                provider: dashscope
            """,
            pricing: try self.withCatalog()
        )
        let day = "2026-11-27"
        #expect(self.price(configuration, "gpt-4o", on: day)?.origin == .catalog)
        #expect(Self.perMillion(self.price(configuration, "gpt-4o", on: day)?.price.input) == "2.5")
        #expect(self.price(configuration, "gpt-4o-priced", on: day)?.origin == .configured)
        // The catalog lists qwen3-max without prices: the built-in CNY price applies.
        #expect(self.price(configuration, "qwen3-max", on: day)?.origin == .builtIn)
        #expect(self.price(configuration, "qwen3-max", on: day)?.price.currency == .cny)
        // The catalog's DashScope prices are the international ones, in USD.
        #expect(self.price(configuration, "qwen-plus", on: day)?.origin == .catalog)
        #expect(Self.perMillion(self.price(configuration, "qwen-plus", on: day)?.price.input) == "0.4")
        #expect(self.price(configuration, "qwen-plus", on: day)?.price.currency == .usd)
    }

    @Test func theCatalogFillsContextWindowsOnlyWhenMissing() throws {
        let configuration = try self.parse(
            """
              qwen3-max:
                provider: dashscope
              flash:
                provider: gemini
                upstream_model: gemini-2.5-flash
                context_window: 1000
            """,
            pricing: try self.withCatalog()
        )
        let qwen = try #require(configuration.models.resolve("qwen3-max")?.entry)
        #expect(qwen.contextWindow == 258_048)
        #expect(qwen.maxOutputTokens == 65_536)
        let flash = try #require(configuration.models.resolve("flash")?.entry)
        #expect(flash.contextWindow == 1000)
        #expect(flash.maxOutputTokens == 65_536)
    }

    @Test func aRelativeCatalogPathIsRelativeToTheConfigurationFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pricing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixture = try Fixture.bytes("pricing/model_prices_and_context_window.json")
        try Data(fixture).write(to: directory.appendingPathComponent("prices.json"))
        let file = directory.appendingPathComponent("sidecar.yaml").path
        try (Self.providers + "pricing:\n  catalog: prices.json\nmodels:\n  gpt-4o: { provider: openai }\n").write(
            toFile: file,
            atomically: true,
            encoding: .utf8
        )
        let configuration = try SidecarConfiguration.load(path: file, environment: [:])
        #expect(configuration.pricing.catalog.path == directory.appendingPathComponent("prices.json").path)
        #expect(self.price(configuration, "gpt-4o", on: "2026-11-27")?.origin == .catalog)
    }

    @Test func anUnreadableOrInvalidCatalogIsAProblem() throws {
        let missing = "pricing:\n  catalog: /nonexistent/prices.json\n"
        #expect(throws: ConfigurationError.self) { try self.parse("  a: { provider: local }\n", pricing: missing) }
        do {
            _ = try self.parse("  a: { provider: local }\n", pricing: missing)
        } catch let error as ConfigurationError {
            #expect(
                error.problems.map(\.description) == [
                    "test.yaml:8: pricing.catalog: cannot read '/nonexistent/prices.json': No such file or directory"
                ]
            )
        }
        #expect(throws: PriceCatalogError.self) { try PriceCatalog(litellmJSON: Array("[1, 2]".utf8)) }
        #expect(throws: PriceCatalogError.self) { try PriceCatalog(litellmJSON: Array("{\"a\": ".utf8)) }
    }

    // MARK: Warnings

    @Test func oneWarningListsTheModelsNoSourcePrices() throws {
        let configuration = try self.parse(
            """
              llama:
                provider: local
              priced-llama:
                provider: local
                price: { input: 0, output: 0 }
              mixed:
                deployments:
                  - { provider: deepseek, upstream_model: deepseek-chat }
                  - { provider: local, upstream_model: deepseek-chat }
              deepseek-chat:
                provider: deepseek
              "gpt-*":
                provider: openai
              "*":
                provider: local
            """
        )
        #expect(
            configuration.unpricedModelsWarning(on: Self.day("2026-11-27"))
                == "no price for 4 models llama, mixed (on local/deepseek-chat), gpt-* (except names the catalog or built-in table knows), *: "
                + "cost is reported as null; set models.<name>.price or pricing.catalog"
        )
        #expect(configuration.warnings.filter { $0.hasPrefix("no price") }.count == 1)
    }

    // MARK: Billing

    @Test func requestsAreBilledAtTheServingDeploymentsVendorPrice() async throws {
        let yaml = """
            providers:
              deepseek: { dialect: deepseek, base_url: https://deepseek.test, api_key_env: NOT_SET }
              dashscope: { dialect: dashscope, base_url: https://dashscope.test/v1, api_key_env: DASHSCOPE_KEY }
            models:
              deepseek-v3:
                deployments:
                  - { provider: deepseek, upstream_model: deepseek-chat }
                  - { provider: dashscope, upstream_model: deepseek-v3 }
            """
        let completion =
            #"{"id":"c","object":"chat.completion","created":1,"model":"deepseek-v3","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":100,"total_tokens":1100}}"#
        try await ScriptedSidecar.run(yaml: yaml, environment: ["DASHSCOPE_KEY": "sk-test"]) { sidecar in
            sidecar.upstream.enqueue(.json(status: 200, body: completion))
            let answer = try await sidecar.post("/v1/chat/completions", #"{"model":"deepseek-v3","messages":[{"role":"user","content":"Hi"}]}"#)
            #expect(answer.head.status == 200)
            // DeepSeek has no key, so DashScope served: 1000 × 2 + 100 × 8 = 2800 CNY per million.
            #expect(answer.head.header("x-sidecar-cost") == "0.0028")
            #expect(answer.head.header("x-sidecar-currency") == "CNY")
            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.cost?.description == "0.0028")
            #expect(record.currency == "CNY")
        }
    }
}
