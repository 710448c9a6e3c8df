//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// How many retries the runtime's `RetryBudget` allows (`resilience.retries.budget`): while
/// `retries < ratio × requests + minimumPerSecond × 10` over the last ten seconds.
package struct RetryBudgetPolicy: Sendable, Hashable {
    /// The share of recent requests that may be retried (default 0.2).
    package var ratio = 0.2
    /// Retries per second allowed whatever the traffic (default 3).
    package var minimumPerSecond = 3.0
}
