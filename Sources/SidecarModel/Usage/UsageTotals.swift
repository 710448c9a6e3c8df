//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import Translate

#if canImport(Glibc)
import Glibc
#endif

/// Sums over a set of requests: counts, tokens, cost per currency and a latency histogram. The
/// statistics API adds requests as they end; `usage report` adds usage lines (and leaves the
/// histogram empty). Token sums saturate at `Int.max` instead of trapping, so an absurd count
/// from a provider or an edited usage file cannot stop the process.
package struct UsageTotals: Sendable, Hashable {
    package var requests = 0
    package var errors = 0
    package var inputTokens = 0
    package var outputTokens = 0
    package var cachedInputTokens = 0
    package var reasoningTokens = 0
    /// Exact sums per currency (`USD`, `CNY`).
    package var costs: [String: Money] = [:]
    /// Requests that reached a provider and have no cost (no price, or no usage known): their
    /// cost is unknown, not zero, and in no cost column.
    package var unpriced = 0
    package var latency = LatencyHistogram()

    package init(
        requests: Int = 0,
        errors: Int = 0,
        inputTokens: Int = 0,
        outputTokens: Int = 0,
        cachedInputTokens: Int = 0,
        reasoningTokens: Int = 0,
        costs: [String: Money] = [:],
        unpriced: Int = 0,
        latency: LatencyHistogram = LatencyHistogram()
    ) {
        self.requests = requests
        self.errors = errors
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.reasoningTokens = reasoningTokens
        self.costs = costs
        self.unpriced = unpriced
        self.latency = latency
    }

    /// One request's contribution.
    package struct Entry: Sendable {
        package var failed: Bool
        package var usage: Usage?
        package var cost: Money?
        package var currency: String?
        package var latencyMilliseconds: Double

        package init(failed: Bool, usage: Usage? = nil, cost: Money? = nil, currency: String? = nil, latencyMilliseconds: Double) {
            self.failed = failed
            self.usage = usage
            self.cost = cost
            self.currency = currency
            self.latencyMilliseconds = latencyMilliseconds
        }

        /// What a request's usage record adds.
        package init(_ record: UsageRecord) {
            self.init(
                failed: record.outcome != .success,
                usage: record.usage,
                cost: record.cost,
                currency: record.currency,
                latencyMilliseconds: record.latencyMilliseconds
            )
        }
    }

    package mutating func add(_ entry: Entry) {
        self.requests += 1
        if entry.failed { self.errors += 1 }
        if let usage = entry.usage {
            Self.add(usage.inputTokens, to: &self.inputTokens)
            Self.add(usage.outputTokens, to: &self.outputTokens)
            Self.add(usage.cachedInputTokens, to: &self.cachedInputTokens)
            Self.add(usage.reasoningTokens, to: &self.reasoningTokens)
        }
        if let cost = entry.cost, let currency = entry.currency {
            self.costs[currency] = (self.costs[currency] ?? Money(picos: 0)) + cost
        } else if entry.usage != nil {
            self.unpriced += 1
        }
        self.latency.record(milliseconds: entry.latencyMilliseconds)
    }

    package mutating func merge(_ other: UsageTotals) {
        Self.add(other.requests, to: &self.requests)
        Self.add(other.errors, to: &self.errors)
        Self.add(other.inputTokens, to: &self.inputTokens)
        Self.add(other.outputTokens, to: &self.outputTokens)
        Self.add(other.cachedInputTokens, to: &self.cachedInputTokens)
        Self.add(other.reasoningTokens, to: &self.reasoningTokens)
        for (currency, cost) in other.costs { self.costs[currency] = (self.costs[currency] ?? Money(picos: 0)) + cost }
        Self.add(other.unpriced, to: &self.unpriced)
        self.latency.merge(other.latency)
    }

    /// `sum + amount`, saturating at `Int.min` and `Int.max`.
    static func add(_ amount: Int, to sum: inout Int) {
        let (result, overflow) = sum.addingReportingOverflow(amount)
        sum = overflow ? (amount > 0 ? .max : .min) : result
    }
}

/// Latencies in logarithmic buckets, eight per doubling from 1 ms to 2^40 ms (35 years; longer,
/// infinite and NaN latencies from an edited usage file land in the first or last bucket): a
/// percentile read back is the upper bound of its bucket, at most 9 % above the true value.
/// Sparse, so a group that saw a few distinct latencies costs a few entries (321 at most).
package struct LatencyHistogram: Sendable, Hashable {
    package static let bucketsPerDoubling = 8.0
    package static let largestMilliseconds = 0x1p40
    package private(set) var counts: [Int: Int] = [:]
    package private(set) var count = 0

    package init() {}

    package mutating func record(milliseconds: Double) {
        self.add(bucket: Self.bucket(milliseconds: milliseconds), count: 1)
    }

    /// The bucket a latency falls in: 0 up to 1 ms, then 8 per doubling.
    package static func bucket(milliseconds: Double) -> Int {
        let bounded = min(milliseconds, Self.largestMilliseconds)
        return bounded > 1 ? Int((Self.bucketsPerDoubling * log2(bounded)).rounded(.up)) : 0
    }

    /// Adds `count` latencies in `bucket` (as read back from the fleet's store).
    package mutating func add(bucket: Int, count: Int) {
        UsageTotals.add(count, to: &self.counts[bucket, default: 0])
        UsageTotals.add(count, to: &self.count)
    }

    package mutating func merge(_ other: LatencyHistogram) {
        for (bucket, count) in other.counts { self.add(bucket: bucket, count: count) }
    }

    /// The latency (ms) at or below which `fraction` of the requests completed; `nil` when empty.
    package func percentile(_ fraction: Double) -> Double? {
        guard self.count > 0 else { return nil }
        let rank = max(1, Int((fraction * Double(self.count)).rounded(.up)))
        var seen = 0
        for bucket in self.counts.keys.sorted() {
            seen += self.counts[bucket]!
            if seen >= rank { return (exp2(Double(bucket) / Self.bucketsPerDoubling) * 1000).rounded() / 1000 }
        }
        return nil
    }
}
