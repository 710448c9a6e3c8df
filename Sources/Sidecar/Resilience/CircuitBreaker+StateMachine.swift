//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

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

        mutating func state(at now: ContinuousClock.Instant) -> State {
            self.advance(to: now)
            switch self.phase {
            case .closed: return .closed
            case .open: return .open
            case .halfOpen: return .halfOpen
            }
        }

        mutating func allow(at now: ContinuousClock.Instant) -> Bool {
            self.advance(to: now)
            switch self.phase {
            case .closed:
                return true
            case .open:
                return false
            case .halfOpen(let admitted, let succeeded):
                guard admitted < self.policy.halfOpenProbes else { return false }
                self.phase = .halfOpen(admitted: admitted + 1, succeeded: succeeded)
                return true
            }
        }

        /// - Returns: the new state when this outcome changed it.
        mutating func record(success: Bool, at now: ContinuousClock.Instant) -> State? {
            self.advance(to: now)
            switch self.phase {
            case .closed:
                return self.recordClosed(success: success, at: now)
            case .open:
                return nil  // an answer to a request admitted before the breaker opened
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

        private mutating func advance(to now: ContinuousClock.Instant) {
            if case .open(let until) = self.phase, now >= until {
                self.phase = .halfOpen(admitted: 0, succeeded: 0)
            }
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
