//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Synchronization

/// Caps retries at a share of recent requests, so a storm of 429s or 5xx cannot multiply the
/// load on a struggling provider.
///
/// Over a sliding window of ten 1-second buckets a retry is allowed while
/// `retries < ratio × requests + minimumPerSecond × 10`. With the defaults (20 %, 3/s) a
/// sidecar sending 100 requests/s may add at most 20 + 3 retries per second. The policy is passed
/// with each call, so a configuration reload applies at once and the counts carry over.
final class RetryBudget: Sendable {
    typealias Policy = RetryBudgetPolicy

    /// Requests (events) and retries (marked) over the last ten seconds, in 1-second buckets.
    private let window: Mutex<SlidingWindow>

    init(origin: ContinuousClock.Instant = .now) {
        self.window = Mutex(SlidingWindow(length: .seconds(10), buckets: 10, origin: origin))
    }

    /// Counts a request (its first attempt).
    func recordRequest(at now: ContinuousClock.Instant) {
        self.window.withLock { $0.add(marked: 0, at: now) }
    }

    /// Takes one retry from the budget; `false` when it is spent.
    func acquireRetry(at now: ContinuousClock.Instant, policy: Policy) -> Bool {
        let allowance = policy.minimumPerSecond * 10
        return self.window.withLock { window in
            let tally = window.tally(at: now)
            guard Double(tally.marked) < policy.ratio * Double(tally.events) + allowance else { return false }
            window.add(events: 0, marked: 1, at: now)
            return true
        }
    }
}
