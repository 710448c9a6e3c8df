//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Retries, circuit breakers, timeouts and health checks (`resilience:`).
package struct ResilienceSettings: Sendable {
    /// Attempts per deployment, first try included (default 3). Moving on to another deployment
    /// or a fallback model is failover, not a retry, and is bounded by ``maxAttempts`` only.
    package var maxAttemptsPerDeployment = 3
    /// Attempts per request across every deployment and fallback (default 6).
    package var maxAttempts = 6
    package var backoff = Backoff()
    /// The most a request waits between attempts in total; a longer `Retry-After` moves on to
    /// the next candidate instead (default 10 s).
    package var maxWait: Duration = .seconds(10)
    /// Provider statuses worth another attempt (default 408, 409, 429, 500, 502, 503, 504, 529).
    package var retryStatuses: Set<Int> = [408, 409, 429, 500, 502, 503, 504, 529]
    /// Whether connection failures and timeouts are worth another attempt (default yes).
    package var retryConnectErrors = true
    package var retryTimeouts = true
    package var budget = RetryBudgetPolicy()
    package var breaker = CircuitBreakerPolicy()
    /// The largest share of a model's deployments kept out at once by open breakers; beyond it
    /// every deployment is used again (panic mode) (default 0.5).
    package var maxEjectedShare = 0.5
    /// Default time to the first byte of an answer; providers may override (default 120 s).
    package var firstByteTimeout: Duration = .seconds(120)
    /// Default longest silence inside an answer; providers may override (default 120 s).
    package var idleTimeout: Duration = .seconds(120)
    /// Active health checks: off by default.
    package var healthChecks = HealthCheckSettings()
}

/// Periodic cheap requests (the provider's model list) whose failures feed the breakers.
package struct HealthCheckSettings: Sendable {
    package var enabled = false
    package var interval: Duration = .seconds(30)
}

/// A task type's candidate models (`routes.<task>`): primaries in order, then fallbacks.
package struct RouteConfiguration: Sendable, Hashable {
    package var primary: [String]
    package var fallback: [String]
}
