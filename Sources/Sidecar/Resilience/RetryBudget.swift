//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Synchronization

/// Caps retries at a share of recent requests, so a storm of 429s or 5xx cannot multiply the
/// load on a struggling provider.
///
/// Over a sliding window of ten 1-second buckets a retry is allowed while
/// `retries < ratio × requests + minimumPerSecond × 10`. With the defaults (20 %, 3/s) a
/// sidecar sending 100 requests/s may add at most 20 + 3 retries per second. The policy is passed
/// with each call, so a configuration reload applies at once and the counts carry over.
final class RetryBudget: Sendable {
    struct Policy: Sendable, Hashable {
        var ratio = 0.2
        var minimumPerSecond = 3.0
    }

    private struct Window: Sendable {
        static let seconds = 10
        /// `(second, requests, retries)` per bucket, by second modulo the window.
        var buckets = [(second: Int64, requests: Int, retries: Int)](repeating: (-1, 0, 0), count: Window.seconds)

        mutating func bucket(at second: Int64) -> Int {
            let index = Int(second % Int64(Window.seconds))
            if self.buckets[index].second != second { self.buckets[index] = (second, 0, 0) }
            return index
        }

        func totals(at second: Int64) -> (requests: Int, retries: Int) {
            self.buckets.filter { $0.second > second - Int64(Window.seconds) }.reduce((0, 0)) { ($0.0 + $1.requests, $0.1 + $1.retries) }
        }
    }

    private let origin: ContinuousClock.Instant
    private let window = Mutex(Window())

    init(origin: ContinuousClock.Instant = .now) {
        self.origin = origin
    }

    /// Counts a request (its first attempt).
    func recordRequest(at now: ContinuousClock.Instant) {
        let second = self.second(of: now)
        self.window.withLock { window in
            let index = window.bucket(at: second)
            window.buckets[index].requests += 1
        }
    }

    /// Takes one retry from the budget; `false` when it is spent.
    func acquireRetry(at now: ContinuousClock.Instant, policy: Policy) -> Bool {
        let second = self.second(of: now)
        let allowance = policy.minimumPerSecond * Double(Window.seconds)
        return self.window.withLock { window in
            let totals = window.totals(at: second)
            guard Double(totals.retries) < policy.ratio * Double(totals.requests) + allowance else { return false }
            let index = window.bucket(at: second)
            window.buckets[index].retries += 1
            return true
        }
    }

    private func second(of instant: ContinuousClock.Instant) -> Int64 {
        (instant - self.origin).components.seconds
    }
}
