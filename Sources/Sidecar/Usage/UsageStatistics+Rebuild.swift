//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Translate

extension UsageStatistics {
    /// Adds every usage line in the first `size` bytes of a usage file — what earlier runs
    /// wrote (lines that are not usage lines are skipped), labelled by what `configuration`
    /// names. Returns the number of lines added; `nil` when the file cannot be read.
    func rebuild(fromFile path: String, upTo size: Int64, configuration: SidecarConfiguration) -> Int? {
        var added = 0
        let opened = FileReader.forEachLine(path, upTo: size) { line in
            guard let (group, entry, time) = Self.decodeLine(line, configuration: configuration) else { return }
            self.add(entry, to: group, at: time)
            added += 1
        }
        return opened ? added : nil
    }

    /// One usage line's group, contribution and time.
    static func decodeLine(_ line: ArraySlice<UInt8>, configuration: SidecarConfiguration) -> (Group, UsageTotals.Entry, Int64)? {
        guard let object = try? JSONValue.parse(Array(line)), object["kind"] == "usage",
            let time = object["timestamp"]?.stringValue.flatMap({ CalendarDay.unixSeconds(ofTimestamp: $0) })
        else { return nil }
        let group = Group(
            model: object["model"]?.stringValue,
            provider: object["gen_ai.provider.name"]?.stringValue,
            taskType: object["task_type"]?.stringValue,
            client: object["client"]?.stringValue ?? ReservedName.anonymousClient,
            configuration: configuration
        )
        var usage: Usage?
        if let input = object["gen_ai.usage.input_tokens"]?.intValue, let output = object["gen_ai.usage.output_tokens"]?.intValue {
            usage = Usage(
                inputTokens: input,
                outputTokens: output,
                cachedInputTokens: object["gen_ai.usage.cache_read.input_tokens"]?.intValue ?? 0,
                reasoningTokens: object["gen_ai.usage.reasoning.output_tokens"]?.intValue ?? 0
            )
        }
        var cost: Money?
        if case .number(let number)? = object["cost"] { cost = Money(parsing: number.literal) }
        let entry = UsageTotals.Entry(
            failed: object["outcome"]?.stringValue != "success",
            usage: usage,
            cost: cost,
            currency: object["currency"]?.stringValue,
            latencyMilliseconds: object["latency_ms"]?.doubleValue ?? 0
        )
        return (group, entry, time)
    }
}
