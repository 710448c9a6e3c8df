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

@Suite struct UsageReportTests {
    /// A usage line as the sidecar writes it (fields trimmed to what the report reads).
    static func line(
        _ model: String,
        provider: String = "deepseek",
        timestamp: String = "2026-11-27T03:07:26.495Z",
        outcome: String = "success",
        input: Int = 100,
        cached: Int = 0,
        output: Int = 10,
        reasoning: Int = 0,
        cost: String? = "0.001",
        currency: String? = "USD",
        pod: String? = nil
    ) -> String {
        var line =
            #"{"timestamp":"\#(timestamp)","kind":"usage","request_id":"req_1","model":"\#(model)","gen_ai.provider.name":"\#(provider)","#
            + #""outcome":"\#(outcome)","gen_ai.usage.input_tokens":\#(input),"gen_ai.usage.output_tokens":\#(output),"#
            + #""gen_ai.usage.cache_read.input_tokens":\#(cached),"gen_ai.usage.cache_creation.input_tokens":0,"#
            + #""gen_ai.usage.reasoning.output_tokens":\#(reasoning),"cost":\#(cost ?? "null"),"currency":\#(currency.map { "\"\($0)\"" } ?? "null")"#
        if let pod { line += #","k8s.pod.name":"\#(pod)""# }
        return line + "}"
    }

    static func report(_ lines: [String], by fields: [String] = ["model"], since: String? = nil, until: String? = nil) -> UsageReport {
        var report = UsageReport(groupBy: fields, since: since.flatMap(CalendarDay.init(parsing:)), until: until.flatMap(CalendarDay.init(parsing:)))
        for line in lines { report.add(line: Array(line.utf8)) }
        return report
    }

    @Test func logNoiseAndPrefixesAreSkippedOrStripped() {
        let lines = [
            "[pod/app-7d9/llm-sidecar] " + Self.line("a"),
            "2026-11-27T03:07:26.495123456Z " + Self.line("a"),
            Self.line("b"),
            #"{"timestamp":"2026-11-27T03:07:26.495Z","level":"info","label":"llm-sidecar","message":"listening"}"#,
            #"[pod/app-7d9/llm-sidecar] {"kind":"audit","model":"a"}"#,
            "Starting llm-sidecar…",
            #"{"kind":"usage","model":"a","cost":0.1"#,
            "",
            "   ",
        ]
        let report = Self.report(lines)
        #expect(report.lines == UsageReport.LineCounts(usage: 3, otherJSON: 2, notJSON: 2, outOfRange: 0))
        #expect(report.rows.map(\.group) == [["a"], ["b"]])
        #expect(report.rows.map(\.totals.requests) == [2, 1])
    }

    @Test func totalsAreTheSumsOfTheLinesWithExactCostsPerCurrency() {
        let lines =
            (0..<1000).map { _ in Self.line("a", cost: "0.0000001") } + [
                Self.line("b", cached: 40, reasoning: 5, cost: "0.1"), Self.line("b", cost: "0.2"),
                Self.line("q", provider: "dashscope", input: 7, output: 3, cost: "0.0000021", currency: "CNY"),
                Self.line("q", provider: "dashscope", outcome: "upstream_error", input: 0, output: 0, cost: nil, currency: nil),
                Self.line("local", provider: "ollama", cost: nil, currency: nil),
                Self.line("nope", outcome: "rejected", input: 0, output: 0, cost: nil, currency: nil),
            ]
        let report = Self.report(lines)
        #expect(report.currencies == ["CNY", "USD"])
        #expect(report.total.requests == 1006)
        #expect(report.total.errors == 2)
        #expect(report.total.inputTokens == 100 * 1003 + 7)
        #expect(report.total.cachedInputTokens == 40)
        #expect(report.total.outputTokens == 10 * 1003 + 3)
        #expect(report.total.reasoningTokens == 5)
        #expect(report.total.costs["USD"]?.description == "0.3001")
        #expect(report.total.costs["CNY"]?.description == "0.0000021")
        // Unknown cost: the upstream error and the unpriced local model; not the rejected request.
        #expect(report.total.unpriced == 2)
        let b = report.rows.first { $0.group == ["b"] }?.totals
        #expect(b?.costs == ["USD": Money(picos: 300_000_000_000)])
        var sum = UsageTotals()
        for row in report.rows { sum.merge(row.totals) }
        #expect(sum == report.total)
    }

    @Test func groupsByAnyFieldsLabelsAndDays() {
        let lines = [
            Self.line("a", timestamp: "2026-11-30T23:59:59.999Z", pod: "app-1"),
            Self.line("a", timestamp: "2026-12-01T00:00:00.000Z", pod: "app-1"),
            Self.line("a", timestamp: "2026-12-01T07:30:00+08:00", pod: "app-2"),
            Self.line("b", timestamp: "2026-12-01T12:00:00Z"),
        ]
        let byPod = Self.report(lines, by: ["k8s.pod.name", "model"])
        #expect(byPod.rows.map(\.group) == [["app-1", "a"], ["app-2", "a"], [nil, "b"]])
        let byDay = Self.report(lines, by: ["day"])
        #expect(byDay.rows.map(\.group) == [["2026-11-30"], ["2026-12-01"]])
        #expect(byDay.rows.map(\.totals.requests) == [2, 2], "07:30+08:00 is 23:30 UTC the day before")
        #expect(Self.report(lines, by: ["month", "provider"]).rows.map(\.group) == [["2026-11", "deepseek"], ["2026-12", "deepseek"]])
        #expect(Self.report(lines, by: ["gen_ai.provider.name"]).rows.map(\.group) == [["deepseek"]])
    }

    @Test func sinceAndUntilAreInclusiveUTCDays() {
        let lines = ["2026-11-01T00:00:00Z", "2026-11-15T12:00:00Z", "2026-11-30T23:59:59Z", "2026-12-01T00:00:00Z", "garbage"].map {
            Self.line("a", timestamp: $0)
        }
        let report = Self.report(lines, since: "2026-11-01", until: "2026-11-30")
        #expect(report.total.requests == 3)
        #expect(report.lines.outOfRange == 2)
        #expect(Self.report(lines, since: "2026-11-16").total.requests == 2)
        #expect(Self.report(lines).total.requests == 5, "without a range, lines without a readable timestamp count")
    }

    @Test(arguments: [
        ("2026-11-27T03:07:26.495Z", "2026-11-27"), ("2026-11-27T01:00:00+05:00", "2026-11-26"), ("2026-11-27T20:00:00-05:00", "2026-11-28"),
        ("2026-11-27", "2026-11-27"), ("2026-11-27 23:00:00Z", "2026-11-27"),
    ])
    func timestampsGiveTheUTCDay(timestamp: String, day: String) {
        #expect(UsageReport.day(ofTimestamp: timestamp)?.description == day)
    }

    @Test func csvHasAHeaderRowsAndATotalRow() {
        let report = Self.report(
            [
                Self.line("a,b", cost: "0.5"), Self.line("q", input: 1, output: 1, cost: "1.25", currency: "CNY"),
                Self.line("x", cost: nil, currency: nil),
            ],
            by: ["model", "k8s.pod.name"]
        )
        #expect(
            report.rendered(as: .csv) == """
                model,k8s.pod.name,requests,errors,input_tokens,cached_input_tokens,output_tokens,reasoning_tokens,cost_CNY,cost_USD,unpriced_requests\r
                "a,b",,1,0,100,0,10,0,,0.5,0\r
                q,,1,0,1,0,1,0,1.25,,0\r
                x,,1,0,100,0,10,0,,,1\r
                TOTAL,,3,0,201,0,21,0,1.25,0.5,1\r

                """
        )
    }

    @Test func tableHasATotalRowAndSaysWhatIsUnpriced() {
        let report = Self.report([Self.line("a", cost: "0.5"), Self.line("b", cost: nil, currency: nil)])
        #expect(
            report.rendered(as: .table) == """
                model  requests  errors  input_tokens  cached_input_tokens  output_tokens  reasoning_tokens  cost_USD  unpriced_requests
                -----  --------  ------  ------------  -------------------  -------------  ----------------  --------  -----------------
                a             1       0           100                    0             10                 0       0.5                  0
                b             1       0           100                    0             10                 0         -                  1
                -----  --------  ------  ------------  -------------------  -------------  ----------------  --------  -----------------
                TOTAL         2       0           200                    0             20                 0       0.5                  1

                1 request has no cost ("cost": null): unknown, not zero, and left out of the cost columns.

                """
        )
    }

    @Test func jsonCarriesRowsTotalsAndLineCounts() throws {
        let report = Self.report([Self.line("a", cost: "0.0000001", pod: "p"), Self.line("a", cost: "0.0000002"), "noise"], by: ["model"])
        let json = try JSONValue.parse(report.rendered(as: .json))
        #expect(json["group_by"] == ["model"])
        #expect(json["rows"]?[0]?["group"] == ["model": "a"])
        #expect(json["rows"]?[0]?["cost"]?["USD"]?.jsonString == "0.0000003")
        #expect(json["total"]?["requests"] == 2)
        #expect(json["total"]?["unpriced_requests"] == 0)
        #expect(json["lines"] == ["usage": 2, "other_json": 0, "not_json": 1, "out_of_range": 0])
    }
}
