//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Translate

extension UsageReport {
    package enum Format: String, Sendable, CaseIterable {
        /// Aligned columns for a terminal, a totals row, and a note about unpriced requests.
        case table
        /// RFC 4180 CSV with a header and a `TOTAL` row.
        case csv
        /// One JSON object: `group_by`, `currencies`, `rows`, `total` and `lines`.
        case json
    }

    package func rendered(as format: Format) -> String {
        switch format {
        case .table: self.table()
        case .csv: self.csv()
        case .json: self.json()
        }
    }

    /// `requests`, `errors`, the token columns, `cost_<CURRENCY>` per currency, `unpriced_requests`.
    package var metricColumns: [String] {
        ["requests", "errors", "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens"]
            + self.currencies.map { "cost_\($0)" } + ["unpriced_requests"]
    }

    private func metricCells(_ totals: UsageTotals, missingCost: String) -> [String] {
        [totals.requests, totals.errors, totals.inputTokens, totals.cachedInputTokens, totals.outputTokens, totals.reasoningTokens].map(String.init)
            + self.currencies.map { totals.costs[$0]?.description ?? missingCost } + [String(totals.unpriced)]
    }

    private func table() -> String {
        let metrics = self.metricColumns
        var table = TextTable(
            headers: self.groupBy + metrics,
            alignments: Array(repeating: .left, count: self.groupBy.count) + Array(repeating: .right, count: metrics.count)
        )
        for row in self.rows {
            table.append(row.group.map { $0 ?? "-" } + self.metricCells(row.totals, missingCost: "-"))
        }
        let label = ["TOTAL"] + Array(repeating: "", count: max(0, self.groupBy.count - 1))
        table.append(label + self.metricCells(self.total, missingCost: "-"), ruleBefore: true)
        var text = table.rendered()
        if self.total.unpriced > 0 {
            let requests = self.total.unpriced == 1 ? "1 request has" : "\(self.total.unpriced) requests have"
            text += "\n\(requests) no cost (\"cost\": null): unknown, not zero, and left out of the cost columns.\n"
        }
        return text
    }

    private func csv() -> String {
        var lines = [(self.groupBy + self.metricColumns).map(Self.csvField).joined(separator: ",")]
        for row in self.rows {
            lines.append((row.group.map { $0 ?? "" } + self.metricCells(row.totals, missingCost: "")).map(Self.csvField).joined(separator: ","))
        }
        let label = ["TOTAL"] + Array(repeating: "", count: max(0, self.groupBy.count - 1))
        lines.append((label + self.metricCells(self.total, missingCost: "")).map(Self.csvField).joined(separator: ","))
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacing("\"", with: "\"\"") + "\""
    }

    private func json() -> String {
        let rows = self.rows.map { row -> JSONValue in
            var object = JSONObject()
            object["group"] = .object(JSONObject(zip(self.groupBy, row.group.map(JSONValue.optional))))
            for member in Self.json(row.totals) { object[member.key] = member.value }
            return .object(object)
        }
        let report: JSONValue = [
            "group_by": .array(self.groupBy.map(JSONValue.string)),
            "since": .optional(self.since?.description),
            "until": .optional(self.until?.description),
            "currencies": .array(self.currencies.map(JSONValue.string)),
            "rows": .array(rows),
            "total": .object(Self.json(self.total)),
            "lines": [
                "usage": .int(self.lines.usage), "other_json": .int(self.lines.otherJSON), "not_json": .int(self.lines.notJSON),
                "out_of_range": .int(self.lines.outOfRange),
            ],
        ]
        return report.jsonString + "\n"
    }

    private static func json(_ totals: UsageTotals) -> JSONObject {
        [
            "requests": .int(totals.requests), "errors": .int(totals.errors), "input_tokens": .int(totals.inputTokens),
            "cached_input_tokens": .int(totals.cachedInputTokens), "output_tokens": .int(totals.outputTokens),
            "reasoning_tokens": .int(totals.reasoningTokens),
            "cost": .object(JSONObject(totals.costs.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) })),
            "unpriced_requests": .int(totals.unpriced),
        ]
    }
}
