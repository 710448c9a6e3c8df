//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

/// The quota ledger with explicit Unix times, its calendar arithmetic, its state file, and
/// quotas enforced through the whole request path.
@Suite struct QuotaTests {
    /// 2026-11-27T10:00:00Z.
    static let morning: Int64 = 1_795_773_600

    static func dollars(_ text: String) -> Money { Money(parsing: text)! }

    static let budget = QuotaSettings.Limits(costPerDay: ["USD": dollars("1")])

    @Test func concurrentReservationsNeverExceedTheBudget() {
        var ledger = QuotaLedger()
        let demand = QuotaLedger.Demand(tokens: 100, costs: ["USD": Self.dollars("0.1")])
        var admitted: [QuotaLedger.Reservation] = []
        for _ in 0..<100 {
            if case .success(let reservation) = ledger.reserve(demand, scopes: [("global", Self.budget)], now: Self.morning) {
                admitted.append(reservation)
            }
        }
        #expect(admitted.count == 10)
        // Each used less than reserved: the rest is released and admits more.
        for reservation in admitted {
            ledger.settle(reservation, actual: .init(tokens: 50, costs: ["USD": Self.dollars("0.05")]), now: Self.morning + 1)
        }
        let key = QuotaLedger.Key(scope: "global", kind: .costPerDay(currency: "USD"))
        #expect(ledger.used(key, now: Self.morning + 2) == Self.dollars("0.5").picos)
        #expect(ledger.reservedAmount(key) == 0)
        let more = (0..<100).count { _ in
            if case .success = ledger.reserve(demand, scopes: [("global", Self.budget)], now: Self.morning + 3) { return true }
            return false
        }
        #expect(more == 5)
    }

    /// A cost too large for Int64 must fill a limit, not trap or wrap into a credit that admits
    /// everything after it.
    @Test func amountsTooLargeToCountSaturateInsteadOfWrapping() {
        let steep = PriceTests.price("1", output: "1000000")
        let worst = steep.cost(of: Usage(inputTokens: 10, outputTokens: 1 << 32)) + steep.cost(of: Usage(inputTokens: 10, outputTokens: 0))
        #expect(worst.picos == .max)
        #expect(steep.cost(of: Usage(inputTokens: 0, outputTokens: 0, reasoningTokens: -1_000)).picos == 0)
        var ledger = QuotaLedger()
        let scopes = [("global", Self.budget)]
        let small = QuotaLedger.Demand(tokens: 1, costs: ["USD": Self.dollars("0.1")])
        if case .success = ledger.reserve(.init(tokens: 1, costs: ["USD": worst]), scopes: scopes, now: Self.morning) {
            Issue.record("a worst case beyond Int64 was admitted")
        }
        let reservations = (0..<2).compactMap { _ in try? ledger.reserve(small, scopes: scopes, now: Self.morning).get() }
        #expect(reservations.count == 2)
        for reservation in reservations {  // a provider reporting absurd usage, twice
            ledger.settle(reservation, actual: .init(tokens: 1, costs: ["USD": worst]), now: Self.morning)
        }
        let key = QuotaLedger.Key(scope: "global", kind: .costPerDay(currency: "USD"))
        #expect(ledger.used(key, now: Self.morning) == .max)
        if case .success = ledger.reserve(small, scopes: scopes, now: Self.morning) { Issue.record("a spent budget admitted a request") }
    }

    @Test func aFailedRequestIsRefundedButStillCountsAsARequest() {
        var ledger = QuotaLedger()
        let limits = QuotaSettings.Limits(requestsPerMinute: 2, costPerDay: ["USD": Self.dollars("1")])
        let demand = QuotaLedger.Demand(tokens: 10, costs: ["USD": Self.dollars("0.6")])
        guard case .success(let first) = ledger.reserve(demand, scopes: [("global", limits)], now: Self.morning) else {
            Issue.record("the first request must be admitted")
            return
        }
        ledger.settle(first, actual: .init(tokens: 0), now: Self.morning)
        guard case .success = ledger.reserve(demand, scopes: [("global", limits)], now: Self.morning) else {
            Issue.record("the refund must free the budget")
            return
        }
        guard case .failure(let denial) = ledger.reserve(.init(tokens: 1), scopes: [("global", limits)], now: Self.morning + 5) else {
            Issue.record("a third request in the minute must be refused")
            return
        }
        #expect(denial.key.kind == .requestsPerMinute)
        #expect(denial.retryAfterSeconds == 55)
    }

    @Test func theFirstScopeToBreakIsNamedWithItsReset() {
        var ledger = QuotaLedger(utcOffsetSeconds: 8 * 3600)
        let scopes: [(String, QuotaSettings.Limits)] = [
            ("global", .init(costPerMonth: ["CNY": Self.dollars("100")])), ("client:default", .init(costPerDay: ["CNY": Self.dollars("1")])),
        ]
        let result = ledger.reserve(.init(tokens: 1, costs: ["CNY": Self.dollars("2")]), scopes: scopes, now: Self.morning)
        guard case .failure(let denial) = result else {
            Issue.record("2 CNY must not fit a 1 CNY daily budget")
            return
        }
        #expect(denial.key == QuotaLedger.Key(scope: "client:default", kind: .costPerDay(currency: "CNY")))
        // 10:00 UTC is 18:00 in UTC+8: six hours to local midnight.
        #expect(denial.retryAfterSeconds == 6 * 3600)
        #expect(ledger.reservedAmount(QuotaLedger.Key(scope: "global", kind: .costPerMonth(currency: "CNY"))) == 0, "nothing is held after a refusal")
    }

    @Test func windowsRollOverAtTheLocalMidnightAndMonthStart() {
        var ledger = QuotaLedger(utcOffsetSeconds: 8 * 3600)
        let key = QuotaLedger.Key(scope: "global", kind: .costPerDay(currency: "USD"))
        let scopes: [(String, QuotaSettings.Limits)] = [("global", Self.budget)]
        guard case .success(let reservation) = ledger.reserve(.init(tokens: 1, costs: ["USD": Self.dollars("1")]), scopes: scopes, now: Self.morning)
        else {
            Issue.record("a request for the whole budget must fit an empty day")
            return
        }
        ledger.settle(reservation, actual: .init(tokens: 1, costs: ["USD": Self.dollars("1")]), now: Self.morning)
        #expect(ledger.used(key, now: Self.morning + 6 * 3600 - 1) == Self.dollars("1").picos)
        #expect(ledger.used(key, now: Self.morning + 6 * 3600) == 0, "a new local day")
        // 2026-11-27 18:00 local → 2026-12-01 00:00 local is 3 days and 6 hours.
        #expect(ledger.secondsUntilReset(.costPerMonth(currency: "USD"), now: Self.morning) == (3 * 24 + 6) * 3600)
    }

    @Test(arguments: [(0, 1970, 1, 1), (20_419, 2025, 11, 27), (11_016, 2000, 2, 29), (-1, 1969, 12, 31), (19_783, 2024, 3, 1)])
    func civilDatesRoundTrip(days: Int, year: Int, month: Int, day: Int) {
        #expect(CalendarDay(daysSinceEpoch: days).components == (year, month, day))
        #expect(CalendarDay(year: year, month: month, day: day)?.daysSinceEpoch == days)
    }

    @Test func theStateFileKeepsDayAndMonthSpend() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("quota-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let book = QuotaBook()
        var settings = QuotaSettings()
        settings.global = .init(requestsPerMinute: 100, costPerDay: ["USD": Self.dollars("1")], costPerMonth: ["USD": Self.dollars("10")])
        let ticket = try book.reserve(.init(tokens: 10, costs: ["USD": Self.dollars("0.25")]), settings: settings, client: "default").get()
        ticket.settle(tokens: 10, cost: Self.dollars("0.125"), currency: "USD")
        QuotaStateFile(path: path, book: book, logger: testLogger).saveIfChanged()

        let restored = QuotaBook(windows: try QuotaStateFile.load(path))
        let remaining = Dictionary(uniqueKeysWithValues: restored.remaining(settings: settings, clients: []).map { ($0.key.kind, $0.remaining) })
        #expect(remaining[.costPerDay(currency: "USD")] == Self.dollars("0.875").picos)
        #expect(remaining[.costPerMonth(currency: "USD")] == Self.dollars("9.875").picos)
        #expect(remaining[.requestsPerMinute] == 100, "minute windows are not kept")

        try "{not json".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: QuotaStateFile.Unreadable.self) { try QuotaStateFile.load(path) }
    }

    @Test func latencyPercentilesAreWithinOneBucket() {
        var histogram = LatencyHistogram()
        for milliseconds in 1...1000 { histogram.record(milliseconds: Double(milliseconds)) }
        let p50 = try! #require(histogram.percentile(0.5))
        let p99 = try! #require(histogram.percentile(0.99))
        #expect(p50 >= 500 && p50 <= 500 * 1.091)
        #expect(p99 >= 990 && p99 <= 990 * 1.091)
    }

    @Test func usageLineTimestampsParse() {
        #expect(CalendarDay.unixSeconds(ofTimestamp: "2026-11-27T10:00:00.123Z") == Self.morning)
        #expect(CalendarDay.unixSeconds(ofTimestamp: "yesterday") == nil)
    }
}

/// Quotas and context windows through the whole request path.
@Suite struct PreflightTests {
    static let configuration = """
        providers:
          alpha: { dialect: openai, base_url: https://alpha.test/v1, api_key_env: KEY }
        models:
          pricey:
            provider: alpha
            context_window: 1000
            price: { input: 100, output: 100 }
            fallbacks: [cheap, roomy]
          cheap:
            provider: alpha
            context_window: 1000
            price: { input: 10, output: 10 }
          roomy:
            provider: alpha
            context_window: 100000
            price: { input: 1, output: 1 }
        quotas:
          global: { cost_per_day: { USD: 0.05 } }
        """

    static func completion(prompt: Int, completion: Int) -> String {
        #"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(completion),"total_tokens":\#(prompt + completion)}}"#
    }

    func withSidecar(_ body: @Sendable (ScriptedSidecar) async throws -> Void) async throws {
        try await ScriptedSidecar.run(yaml: Self.configuration, environment: ["KEY": "sk-test"], body)
    }

    static func ask(_ model: String, words: Int = 1, maxTokens: Int = 100) -> String {
        let text = Array(repeating: "word", count: words).joined(separator: " ")
        return #"{"model":"\#(model)","max_tokens":\#(maxTokens),"messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    /// pricey's worst case (≈ 107 tokens × $100 per million ≈ $0.0107; each costs $0.011) is
    /// reserved until the $0.05 budget cannot hold it (4 requests); then cheap ($10 per million)
    /// serves until it cannot either; then the request is refused.
    @Test func aBudgetFallsBackToACheaperModelThenRefusesWithRetryAfter() async throws {
        try await self.withSidecar { sidecar in
            for _ in 0..<20 { sidecar.upstream.enqueue(.json(status: 200, body: Self.completion(prompt: 10, completion: 100))) }
            var servedBy: [String] = []
            var refusal: HTTPExchange?
            for _ in 0..<20 {
                let answer = try await sidecar.post("/v1/chat/completions", Self.ask("pricey"))
                if answer.head.status == 429 {
                    refusal = answer
                    break
                }
                servedBy.append(try #require(answer.head.header("x-sidecar-route")))
            }
            #expect(servedBy.prefix(4).allSatisfy { $0.hasPrefix("model=pricey;") })
            #expect(servedBy.dropFirst(4).allSatisfy { $0.hasPrefix("model=cheap;") || $0.hasPrefix("model=roomy;") })
            let records = sidecar.usage.all
            let spent = records.compactMap(\.cost).reduce(Money(picos: 0), +)
            #expect(spent <= Money(parsing: "0.05")!, "the budget held: spent \(spent)")
            let fallback = try #require(records.first { $0.model == "cheap" })
            #expect(fallback.routeDecisions.first == RouteDecision(model: "pricey", deployment: "pricey", outcome: .skipped, reason: "over_quota"))
            let denied = try #require(refusal, "the budget must run out")
            #expect(denied.json["error"]?["code"] == "quota_exceeded")
            #expect(denied.json["error"]?["message"]?.stringValue?.contains("cost_per_day (USD) limit of 0.05") == true)
            #expect(Int(denied.head.header("retry-after") ?? "") ?? 0 > 0)
        }
    }

    @Test func aLongPromptSkipsSmallContextWindowsOrIsRefused() async throws {
        try await self.withSidecar { sidecar in
            sidecar.upstream.enqueue(.json(status: 200, body: Self.completion(prompt: 2000, completion: 1)))
            let long = try await sidecar.post("/v1/chat/completions", Self.ask("cheap", words: 4000, maxTokens: 1).replacing("cheap", with: "pricey"))
            #expect(long.head.header("x-sidecar-route")?.hasPrefix("model=roomy;") == true)
            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.routeDecisions.prefix(2).map(\.reason) == ["context_window", "context_window"])

            let tooLong = try await sidecar.post("/v1/chat/completions", Self.ask("cheap", words: 4000, maxTokens: 1))
            #expect(tooLong.head.status == 400)
            #expect(tooLong.json["error"]?["code"] == "context_length_exceeded")
            #expect(tooLong.json["error"]?["param"] == "max_tokens")
            #expect(sidecar.upstream.requests.count == 1)
        }
    }
}
