//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Synchronization

/// Stops sending requests to a deployment that keeps failing, and lets a few probes through
/// after a cool-down to find out whether it recovered.
///
/// It counts **requests, not attempts** (as Envoy's outlier detection counts a host's answers
/// after its own retries): each request records one outcome per deployment it tried — success
/// when the deployment served it (even after failed retries on it), failure when every attempt
/// on it failed with a sign of ill health (5xx, timeout, connection failure, malformed answer,
/// rejected key) — and a stream's outcome is recorded when its body ends, so a provider that
/// breaks streams midway counts too. A deployment that fails every other attempt therefore
/// serves every request (on its retry) and never opens.
///
/// A lock around a value-type ``StateMachine``: callers pass the current instant in, so the
/// machine is tested with explicit instants and never reads a clock.
final class CircuitBreaker: Sendable {
    /// When to open and how to recover (`resilience.breaker`).
    typealias Policy = CircuitBreakerPolicy

    /// The breaker's state, for logs, metrics and routing decisions.
    enum State: String, Sendable, Hashable {
        case closed
        case open
        case halfOpen = "half_open"
    }

    private let machine: Mutex<StateMachine>

    init(policy: Policy) {
        self.machine = Mutex(StateMachine(policy: policy))
    }

    /// Whether a request may go out now (a half-open breaker admits its probes), and the state
    /// change this caused (open → half-open).
    func allow(at now: ContinuousClock.Instant) -> (allowed: Bool, change: State?) {
        self.machine.withLock { $0.allow(at: now) }
    }

    /// How long until an open breaker admits a probe; `nil` unless open.
    func remainingOpen(at now: ContinuousClock.Instant) -> Duration? {
        self.machine.withLock { $0.remainingOpen(at: now) }
    }

    /// Records the outcome of an admitted request. Returns the new state when it changed.
    @discardableResult
    func record(success: Bool, at now: ContinuousClock.Instant) -> State? {
        self.machine.withLock { $0.record(success: success, at: now) }
    }

    /// Gives back an admitted slot without an outcome (the request was cancelled).
    func releaseProbe() {
        self.machine.withLock { $0.releaseProbe() }
    }

    func state(at now: ContinuousClock.Instant) -> State {
        self.machine.withLock { $0.state(at: now) }
    }
}
