//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// When a deployment's circuit breaker opens and how it recovers (`resilience.breaker`); the
/// breaker itself is the runtime's `CircuitBreaker`.
package struct CircuitBreakerPolicy: Sendable, Hashable {
    /// The sliding window over which the failure rate is measured (default 30 s).
    package var window: Duration = .seconds(30)
    /// Requests needed in the window before the rate can open the breaker (default 10).
    package var minimumCalls = 10
    /// Share of failed requests that opens the breaker (default 0.5).
    package var failureRate = 0.5
    /// Failed requests in a row that open it regardless of the rate (default 5).
    package var consecutiveFailures = 5
    /// How long it stays open before probing (default 30 s).
    package var openDuration: Duration = .seconds(30)
    /// Probe requests allowed while half-open; all must succeed to close (default 1).
    package var halfOpenProbes = 1
}
