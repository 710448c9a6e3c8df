//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

extension CircuitBreaker {
    /// The breaker's rules as a value type: closed → open → half-open → closed.
    struct StateMachine: Sendable {
        private enum Phase {
            /// Counting outcomes. Valid transitions: open.
            case closed
            /// Rejecting until `until`. Valid transitions: half-open (lazily, when asked after `until`).
            case open(until: ContinuousClock.Instant)
            /// Admitting up to `policy.halfOpenProbes` probes. Valid transitions: closed, open.
            case halfOpen(admitted: Int, succeeded: Int)
        }

        let policy: Policy
        private var phase = Phase.closed
        /// Calls (events) and failures (marked) inside the window, in 20 buckets.
        private var outcomes: SlidingWindow
        private var consecutiveFailures = 0

        init(policy: Policy) {
            self.policy = policy
            self.outcomes = SlidingWindow(length: policy.window, buckets: 20)
        }

        /// The state at `now`, without changing it: an open breaker past its cool-down reads as
        /// half-open, but moves there only when ``allow(at:)`` admits the first probe.
        func state(at now: ContinuousClock.Instant) -> State {
            switch self.phase {
            case .closed: .closed
            case .open(let until): now >= until ? .halfOpen : .open
            case .halfOpen: .halfOpen
            }
        }

        /// How long until an open breaker admits probes; `nil` unless open.
        func remainingOpen(at now: ContinuousClock.Instant) -> Duration? {
            guard case .open(let until) = self.phase, until > now else { return nil }
            return until - now
        }

        /// Whether a request may go out now, and the state change this caused (an open breaker
        /// past its cool-down becomes half-open here, so the change can be logged).
        mutating func allow(at now: ContinuousClock.Instant) -> (allowed: Bool, change: State?) {
            let change: State? = self.advance(to: now) ? .halfOpen : nil
            switch self.phase {
            case .closed:
                return (true, change)
            case .open:
                return (false, change)
            case .halfOpen(let admitted, let succeeded):
                guard admitted < self.policy.halfOpenProbes else { return (false, change) }
                self.phase = .halfOpen(admitted: admitted + 1, succeeded: succeeded)
                return (true, change)
            }
        }

        /// Records one request's outcome on this deployment (retries of the request included).
        /// - Returns: the new state when this outcome changed it.
        mutating func record(success: Bool, at now: ContinuousClock.Instant) -> State? {
            switch self.phase {
            case .closed:
                return self.recordClosed(success: success, at: now)
            case .open:
                return nil  // an answer to a request admitted before the breaker opened (or after its cool-down, unprobed)
            case .halfOpen(let admitted, let succeeded):
                guard success else {
                    self.open(at: now)
                    return .open
                }
                guard succeeded + 1 >= self.policy.halfOpenProbes else {
                    self.phase = .halfOpen(admitted: admitted, succeeded: succeeded + 1)
                    return nil
                }
                self.close()
                return .closed
            }
        }

        mutating func releaseProbe() {
            if case .halfOpen(let admitted, let succeeded) = self.phase, admitted > succeeded {
                self.phase = .halfOpen(admitted: admitted - 1, succeeded: succeeded)
            }
        }

        private mutating func recordClosed(success: Bool, at now: ContinuousClock.Instant) -> State? {
            self.outcomes.add(marked: success ? 0 : 1, at: now)
            self.consecutiveFailures = success ? 0 : self.consecutiveFailures + 1
            let tally = self.outcomes.tally(at: now)
            let rateTripped =
                tally.events >= self.policy.minimumCalls && Double(tally.marked) >= self.policy.failureRate * Double(tally.events)
            guard !success, rateTripped || self.consecutiveFailures >= self.policy.consecutiveFailures else { return nil }
            self.open(at: now)
            return .open
        }

        /// Moves an open breaker past its cool-down to half-open; `true` when it did.
        private mutating func advance(to now: ContinuousClock.Instant) -> Bool {
            guard case .open(let until) = self.phase, now >= until else { return false }
            self.phase = .halfOpen(admitted: 0, succeeded: 0)
            return true
        }

        private mutating func open(at now: ContinuousClock.Instant) {
            self.phase = .open(until: now + self.policy.openDuration)
            self.outcomes.reset()
            self.consecutiveFailures = 0
        }

        private mutating func close() {
            self.phase = .closed
            self.outcomes.reset()
            self.consecutiveFailures = 0
        }
    }
}
