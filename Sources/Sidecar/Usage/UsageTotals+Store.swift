//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

/// Totals as integer counters in a Redis hash, so pods add to them with `HINCRBY` and a read
/// sums them back: `requests`, `errors`, `input`, `output`, `cached_input`, `reasoning`,
/// `unpriced`, `cost:<currency>` (picounits) and `latency:<bucket>` (requests per
/// ``LatencyHistogram`` bucket).
extension UsageTotals {
    var storeFields: [(name: String, value: Int64)] {
        var fields: [(String, Int64)] = [
            ("requests", Int64(self.requests)), ("errors", Int64(self.errors)), ("input", Int64(self.inputTokens)),
            ("output", Int64(self.outputTokens)), ("cached_input", Int64(self.cachedInputTokens)), ("reasoning", Int64(self.reasoningTokens)),
            ("unpriced", Int64(self.unpriced)),
        ]
        for (currency, amount) in self.costs.sorted(by: { $0.key < $1.key }) { fields.append(("cost:\(currency)", amount.picos)) }
        for (bucket, count) in self.latency.counts.sorted(by: { $0.key < $1.key }) { fields.append(("latency:\(bucket)", Int64(count))) }
        return fields.filter { $0.1 != 0 }
    }

    /// Adds one field read back from the store (saturating, like every sum of totals); unknown
    /// fields are ignored.
    mutating func add(storeField name: Substring, value: Int64) {
        let amount = Int(clamping: value)
        var field = UsageTotals()
        switch name {
        case "requests": field.requests = amount
        case "errors": field.errors = amount
        case "input": field.inputTokens = amount
        case "output": field.outputTokens = amount
        case "cached_input": field.cachedInputTokens = amount
        case "reasoning": field.reasoningTokens = amount
        case "unpriced": field.unpriced = amount
        default:
            if name.hasPrefix("cost:") {
                field.costs[String(name.dropFirst("cost:".count))] = Money(picos: value)
            } else if name.hasPrefix("latency:"), let bucket = Int(name.dropFirst("latency:".count)), amount > 0 {
                field.latency.add(bucket: bucket, count: amount)
            }
        }
        self.merge(field)
    }
}
