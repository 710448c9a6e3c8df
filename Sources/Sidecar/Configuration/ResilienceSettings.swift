//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Retries, circuit breakers, timeouts and health checks (`resilience:`).
struct ResilienceSettings: Sendable {
    /// Attempts per deployment, first try included (default 3). Moving on to another deployment
    /// or a fallback model is failover, not a retry, and is bounded by ``maxAttempts`` only.
    var maxAttemptsPerDeployment = 3
    /// Attempts per request across every deployment and fallback (default 6).
    var maxAttempts = 6
    var backoff = Backoff()
    /// The most a request waits between attempts in total; a longer `Retry-After` moves on to
    /// the next candidate instead (default 10 s).
    var maxWait: Duration = .seconds(10)
    /// Provider statuses worth another attempt (default 408, 409, 429, 500, 502, 503, 504, 529).
    var retryStatuses: Set<Int> = [408, 409, 429, 500, 502, 503, 504, 529]
    /// Whether connection failures and timeouts are worth another attempt (default yes).
    var retryConnectErrors = true
    var retryTimeouts = true
    var budget = RetryBudget.Policy()
    var breaker = CircuitBreaker.Policy()
    /// The largest share of a model's deployments kept out at once by open breakers; beyond it
    /// every deployment is used again (panic mode) (default 0.5).
    var maxEjectedShare = 0.5
    /// Default time to the first byte of an answer; providers may override (default 120 s).
    var firstByteTimeout: Duration = .seconds(120)
    /// Default longest silence inside an answer; providers may override (default 120 s).
    var idleTimeout: Duration = .seconds(120)
    /// Active health checks: off by default.
    var healthChecks = HealthCheckSettings()
}

/// Periodic cheap requests (the provider's model list) whose failures feed the breakers.
struct HealthCheckSettings: Sendable {
    var enabled = false
    var interval: Duration = .seconds(30)
}

/// A task type's candidate models (`routes.<task>`): primaries in order, then fallbacks.
struct RouteConfiguration: Sendable, Hashable {
    var primary: [String]
    var fallback: [String]
}
