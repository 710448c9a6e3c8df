//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Exponential backoff with full jitter: before retry *n* (1-based) wait a random time in
/// `[0, min(maximum, base × 2ⁿ⁻¹)]`. With the defaults (100 ms, 2 s): up to 100 ms before the
/// first retry, 200 ms before the second, 400 ms before the third, never more than 2 s. A
/// provider's `Retry-After` raises the wait to what it asked for.
package struct Backoff: Sendable, Hashable {
    package var base: Duration = .milliseconds(100)
    package var maximum: Duration = .seconds(2)

    /// The wait before retry `retry` (1-based), given a random fraction in `0...1`.
    package func delay(beforeRetry retry: Int, random fraction: Double, retryAfter: Duration? = nil) -> Duration {
        let exponent = min(max(retry - 1, 0), 30)
        let ceiling = min(self.maximum, self.base * (1 << exponent))
        let jittered = ceiling * min(max(fraction, 0), 1)
        guard let retryAfter else { return jittered }
        return max(jittered, retryAfter)
    }
}
