//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import Translate

extension UsageReport {
    /// What a log line holds.
    package enum ParsedLine {
        case blank
        case notJSON
        /// A JSON object other than a usage line.
        case otherJSON
        /// A usage line's fields.
        case usage(JSONObject)
    }

    /// Reads a log line: the JSON object from its first `{` to the end, so any prefix
    /// (`[pod/app-7d9/llm-sidecar] `, a timestamp) is skipped.
    package static func parse(_ line: some Collection<UInt8>) -> ParsedLine {
        let bytes = Array(line)
        guard let start = bytes.firstIndex(of: UInt8(ascii: "{")) else {
            return bytes.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") } ? .blank : .notJSON
        }
        guard let object = (try? JSONValue.parse(bytes[start...]))?.objectValue else { return .notJSON }
        return object["kind"]?.stringValue == "usage" ? .usage(object) : .otherJSON
    }

    /// The UTC day of an RFC 3339 timestamp (any offset) or of a bare date.
    package static func day(ofTimestamp text: String) -> CalendarDay? {
        if text.utf8.count == 10 { return CalendarDay(parsing: text) }
        return CalendarDay.unixSeconds(ofTimestamp: text).map(CalendarDay.init(secondsSinceEpoch:))
    }

    /// Short names for the OpenTelemetry fields people group by most.
    package static let fieldAliases = ["provider": "gen_ai.provider.name", "operation": "gen_ai.operation.name"]

    /// The value a line groups under for `field`: `day` and `month` come from the timestamp,
    /// any other name is the line's field of that name (labels such as `k8s.pod.name`
    /// included, `provider` and `operation` short for their `gen_ai.` fields); `nil` when the
    /// line lacks it or it is null.
    package static func value(of field: String, in fields: JSONObject, day: CalendarDay?) -> String? {
        switch field {
        case Self.dayField: return day?.description
        case Self.monthField: return day?.monthDescription
        default: break
        }
        switch fields[field] ?? Self.fieldAliases[field].flatMap({ fields[$0] }) {
        case .string(let text)?: return text
        case .number(let number)?: return number.literal
        case .bool(let bool)?: return bool ? "true" : "false"
        case .null?, nil: return nil
        case let value?: return value.jsonString
        }
    }

    /// One usage line's contribution.
    package static func totals(of fields: JSONObject) -> UsageTotals {
        let outcome = fields["outcome"]?.stringValue
        var totals = UsageTotals(requests: 1, errors: outcome == "success" ? 0 : 1)
        totals.inputTokens = fields["gen_ai.usage.input_tokens"]?.intValue ?? 0
        totals.cachedInputTokens = fields["gen_ai.usage.cache_read.input_tokens"]?.intValue ?? 0
        totals.outputTokens = fields["gen_ai.usage.output_tokens"]?.intValue ?? 0
        totals.reasoningTokens = fields["gen_ai.usage.reasoning.output_tokens"]?.intValue ?? 0
        if case .number(let number)? = fields["cost"], let cost = Money(roundingDecimal: number.literal) {
            totals.costs[fields["currency"]?.stringValue ?? "?"] = cost
        } else if outcome != "rejected" {
            totals.unpriced = 1
        }
        return totals
    }
}
