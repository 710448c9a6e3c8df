//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Translate

/// Costs and tokens of usage lines, grouped by any of their fields: what
/// `llm-sidecar usage report` prints.
///
/// It reads whole logs: a line counts when it holds a JSON object with `"kind":"usage"`, after
/// any prefix (`kubectl logs --prefix` writes `[pod/app-7d9/llm-sidecar] {…}`, `--timestamps`
/// a time). Diagnostic log lines, other JSON and text are counted and skipped. Costs are summed
/// per currency as exact ``Money``; a request with `"cost": null` is counted as unpriced, never
/// as costing zero.
package struct UsageReport: Sendable {
    /// Group by the UTC day of `timestamp` (`2026-11-27`).
    package static let dayField = "day"
    /// Group by the UTC month of `timestamp` (`2026-11`).
    package static let monthField = "month"

    /// What became of the input lines.
    package struct LineCounts: Sendable, Hashable {
        /// Usage lines counted in the report.
        package var usage = 0
        /// JSON objects that are not usage lines (diagnostic logs).
        package var otherJSON = 0
        /// Lines holding no JSON object (text, truncated lines); blank lines are not counted.
        package var notJSON = 0
        /// Usage lines outside `since`…`until`, or without a readable timestamp when filtering.
        package var outOfRange = 0
    }

    /// One group: its values of the grouping fields (`nil` where a line lacks the field) and sums.
    package struct Row: Sendable, Hashable {
        package var group: [String?]
        package var totals: UsageTotals
    }

    /// The fields lines are grouped by, in order (default `model`).
    package let groupBy: [String]
    /// The first UTC day counted, if any.
    package let since: CalendarDay?
    /// The last UTC day counted, if any.
    package let until: CalendarDay?
    package private(set) var groups: [[String?]: UsageTotals] = [:]
    package private(set) var total = UsageTotals()
    package private(set) var lines = LineCounts()

    package init(groupBy: [String] = ["model"], since: CalendarDay? = nil, until: CalendarDay? = nil) {
        self.groupBy = groupBy
        self.since = since
        self.until = until
    }

    /// Counts one log line (without its line terminator).
    package mutating func add(line: some Collection<UInt8>) {
        switch Self.parse(line) {
        case .blank: break
        case .notJSON: self.lines.notJSON += 1
        case .otherJSON: self.lines.otherJSON += 1
        case .usage(let fields):
            let day = fields["timestamp"]?.stringValue.flatMap(Self.day(ofTimestamp:))
            if self.since != nil || self.until != nil {
                guard let day, self.since.map({ $0 <= day }) ?? true, self.until.map({ day <= $0 }) ?? true else {
                    self.lines.outOfRange += 1
                    return
                }
            }
            self.lines.usage += 1
            let totals = Self.totals(of: fields)
            self.groups[self.groupBy.map { Self.value(of: $0, in: fields, day: day) }, default: UsageTotals()].merge(totals)
            self.total.merge(totals)
        }
    }

    /// Counts totals summed elsewhere (the fleet's store) under `group`, one value per
    /// ``groupBy`` field.
    package mutating func add(group: [String?], totals: UsageTotals) {
        self.groups[group, default: UsageTotals()].merge(totals)
        self.total.merge(totals)
    }

    /// The groups in order of their values (lines lacking a field last).
    package var rows: [Row] {
        self.groups.map { Row(group: $0.key, totals: $0.value) }.sorted { lhs, rhs in
            for (left, right) in zip(lhs.group, rhs.group) where left != right {
                guard let left else { return false }
                guard let right else { return true }
                return left < right
            }
            return false
        }
    }

    /// Every currency that has a cost, sorted.
    package var currencies: [String] { self.total.costs.keys.sorted() }
}
