//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SidecarModel
import Synchronization
import Translate

/// One place a model is served, with the health and load the router balances on.
///
/// Its breaker and statistics outlive configuration reloads (see ``DeploymentRegistry``), so a
/// reload does not forget that a provider is down.
final class Deployment: Sendable {
    /// `provider/upstream-model`, for logs, usage lines and the route header.
    let id: String
    let breaker: CircuitBreaker
    private let load = Mutex(Load())
    private let transitions = Mutex<[CircuitBreaker.State: Int]>([:])

    private struct Load {
        var inFlight = 0
        /// Exponentially weighted time to first byte, in milliseconds (α = 0.3); `nil` until measured.
        var latency: Double?
    }

    init(id: String, breaker: CircuitBreaker) {
        self.id = id
        self.breaker = breaker
    }

    var inFlight: Int { self.load.withLock { $0.inFlight } }
    /// How often the breaker changed to each state, for metrics.
    var breakerTransitions: [CircuitBreaker.State: Int] { self.transitions.withLock { $0 } }
    var latencyMilliseconds: Double? { self.load.withLock { $0.latency } }

    /// Takes a slot for a request; `false` when `limit` requests are already in flight.
    func acquire(limit: Int?) -> Bool {
        self.load.withLock { load in
            if let limit, load.inFlight >= limit { return false }
            load.inFlight += 1
            return true
        }
    }

    /// Asks the breaker whether a request may go out; its move to half-open is counted, logged
    /// and audited like every other change.
    func admit(at now: ContinuousClock.Instant, logger: Logger, audit: AuditLog) -> Bool {
        let (allowed, change) = self.breaker.allow(at: now)
        if let change { self.note(change, logger: logger, audit: audit) }
        return allowed
    }

    /// Records an outcome in the breaker; a change (opened, half-opened, closed) is counted,
    /// logged and audited.
    func recordOutcome(success: Bool, at now: ContinuousClock.Instant, logger: Logger, audit: AuditLog) {
        guard let change = self.breaker.record(success: success, at: now) else { return }
        self.note(change, logger: logger, audit: audit)
    }

    private func note(_ change: CircuitBreaker.State, logger: Logger, audit: AuditLog) {
        self.transitions.withLock { $0[change, default: 0] += 1 }
        logger.warning("circuit breaker changed", metadata: ["upstream.deployment": "\(self.id)", "breaker.state": "\(change.rawValue)"])
        audit.record("breaker_changed", ["deployment": .string(self.id), "state": .string(change.rawValue)])
    }

    /// Gives a slot back.
    func release() {
        self.load.withLock { $0.inFlight -= 1 }
    }

    /// Folds a measured time to first byte into the latency average.
    func record(firstByte: Duration) {
        let milliseconds = Double(firstByte.components.seconds) * 1000 + Double(firstByte.components.attoseconds) / 1e15
        self.load.withLock { load in
            load.latency = load.latency.map { 0.7 * $0 + 0.3 * milliseconds } ?? milliseconds
        }
    }
}

/// A deployment slot held while a request uses the deployment: until its answer was read or
/// its stream ended, when the request's outcome goes to the breaker. Released once, explicitly
/// or when the last reference goes (then without an outcome: a half-open probe is given back).
final class DeploymentLease: Sendable {
    private let deployment: Deployment
    /// Whether the outcome counts for the breaker (not in panic mode).
    private let countsForBreaker: Bool
    private let logger: Logger
    private let audit: AuditLog
    private let released = Atomic(false)

    init(_ deployment: Deployment, countsForBreaker: Bool, logger: Logger, audit: AuditLog) {
        self.deployment = deployment
        self.countsForBreaker = countsForBreaker
        self.logger = logger
        self.audit = audit
    }

    /// Ends the use: `success` is the request's outcome on this deployment for the breaker;
    /// `nil` when there is none (the client left, the sidecar shut down).
    func release(success: Bool? = nil) {
        guard !self.released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        self.deployment.release()
        guard self.countsForBreaker else { return }
        if let success {
            self.deployment.recordOutcome(success: success, at: .now, logger: self.logger, audit: self.audit)
        } else {
            self.deployment.breaker.releaseProbe()
        }
    }

    /// Ends the use after `error` broke the answer: a failure for the breaker when the error
    /// says the deployment is unhealthy.
    func release(after error: ProxyError) {
        self.release(success: error.code == .cancelled || error.code == .shuttingDown ? nil : !error.countsAgainstHealth)
    }

    deinit {
        self.release()
    }
}

/// The deployments' shared state by id, kept across configuration reloads.
///
/// A pattern model (`gpt-*`) makes one deployment per name a client asks for, so the registry
/// is bounded: past ``maximumDeployments`` (1,000) it forgets the deployments with nothing
/// worth keeping — no request in flight and a closed breaker — before adding a new one (a
/// forgotten deployment starts afresh when asked for again).
final class DeploymentRegistry: Sendable {
    static let maximumDeployments = 1_000
    private let deployments = Mutex<[String: Deployment]>([:])

    /// The deployment for `id`, created with `policy` on first use.
    func deployment(id: String, policy: CircuitBreaker.Policy) -> Deployment {
        self.deployments.withLock { deployments in
            if let existing = deployments[id] { return existing }
            if deployments.count >= Self.maximumDeployments {
                let now = ContinuousClock.now
                deployments = deployments.filter { $0.value.inFlight > 0 || $0.value.breaker.state(at: now) != .closed }
            }
            let deployment = Deployment(id: id, breaker: CircuitBreaker(policy: policy))
            deployments[id] = deployment
            return deployment
        }
    }

    var all: [Deployment] { self.deployments.withLock { Array($0.values) } }
}
