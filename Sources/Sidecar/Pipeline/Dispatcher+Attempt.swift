//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SidecarModel
import Translate

extension Dispatcher {
    /// What to do after a failed attempt.
    enum Disposition: Equatable {
        /// Worth trying again (after a backoff), here or elsewhere.
        case retry
        /// This deployment cannot serve the request (bad key, no quota, unknown model): try others.
        case next
        /// The request itself is at fault (400, 413, content filter): answer the client now.
        case fail
    }

    func disposition(of error: ProxyError) -> Disposition {
        switch error.code {
        case .upstreamUnreachable, .upstreamConnectionFailed: return self.resilience.retryConnectErrors ? .retry : .next
        case .upstreamTimeout: return self.resilience.retryTimeouts ? .retry : .next
        case .upstreamMalformed: return .next
        case .upstreamError:
            guard let failure = error.upstreamFailure else { return .fail }
            if let status = failure.upstreamStatus, self.resilience.retryStatuses.contains(status) { return .retry }
            switch failure.kind {
            case .authentication, .permission, .quotaExhausted, .notFound: return .next
            case .rateLimited, .overloaded, .serverError, .timeout: return failure.upstreamStatus == nil ? .retry : .next
            case .badRequest, .payloadTooLarge, .contentFilter: return .fail
            }
        default:
            return .fail
        }
    }

    /// A request's breaker admission on one deployment, taken at its first attempt there and
    /// settled once: by the lease of the answer it served, or when the request moves on.
    struct BreakerTicket {
        let deployment: Deployment
        /// Whether the outcome counts (not in panic mode).
        let counts: Bool
        /// Whether an attempt was sent.
        var tried = false
        /// Whether an attempt failed with a sign of ill health.
        var failed = false

        /// The request is done with this deployment without its answer; `abandoned` when the
        /// client left or the sidecar shut down, which says nothing about the deployment unless an
        /// attempt on it had already failed.
        func settle(abandoned: Bool, logger: Logger, audit: AuditLog) {
            guard self.counts else { return }
            if self.tried, self.failed || !abandoned {
                self.deployment.recordOutcome(success: !self.failed, at: .now, logger: logger, audit: audit)
            } else {
                self.deployment.breaker.releaseProbe()
            }
        }
    }

    /// The running tally of one request's attempts.
    struct Attempt {
        let plan: RoutePlan
        let resilience: ResilienceSettings
        var count = 0
        var exhausted = false
        /// The client left or the sidecar shut down before any deployment answered.
        var abandoned = false
        var decisions: [RouteDecision] = []
        /// The candidate and deployment of the last attempt that failed.
        private(set) var lastTried: (step: RoutePlan.Step, deployment: DeploymentChoice)?
        private var waited: Duration = .zero
        private var failures: [String: (count: Int, retryAfter: Duration?)] = [:]
        private var errors: [ProxyError] = []
        /// Why deployments without a usable key were skipped ("provider 'x' has no API key…").
        private var unusable: [String] = []
        /// Breaker admissions held, by deployment id.
        private var tickets: [String: BreakerTicket] = [:]
        /// The soonest an open breaker that made this request skip a deployment admits a probe.
        private var breakerWait: Duration?

        static let noKey = "no_key"

        init(plan: RoutePlan, resilience: ResilienceSettings) {
            self.plan = plan
            self.resilience = resilience
        }

        mutating func note(_ step: RoutePlan.Step, _ deployment: DeploymentChoice, _ outcome: RouteDecision.Outcome, _ reason: String?) {
            self.decisions.append(RouteDecision(model: step.model.name, deployment: deployment.id, outcome: outcome, reason: reason))
            if outcome == .failed { self.lastTried = (step, deployment) }
            if self.count >= self.resilience.maxAttempts { self.exhausted = true }
        }

        /// Notes a deployment skipped because its provider has no key.
        mutating func noteUnusable(_ step: RoutePlan.Step, _ deployment: DeploymentChoice, reason: String) {
            self.note(step, deployment, .skipped, Self.noKey)
            if !self.unusable.contains(reason) { self.unusable.append(reason) }
        }

        /// Notes a deployment skipped because its breaker is open, and how long it stays open.
        mutating func noteBreakerOpen(_ step: RoutePlan.Step, _ deployment: DeploymentChoice) {
            self.note(step, deployment, .skipped, Self.breakerOpen)
            let wait = deployment.state.breaker.remainingOpen(at: .now) ?? .zero
            self.breakerWait = min(self.breakerWait ?? wait, wait)
        }

        static let breakerOpen = "breaker_open"

        func holdsTicket(for deployment: DeploymentChoice) -> Bool {
            self.tickets[deployment.id] != nil
        }

        mutating func openTicket(for deployment: DeploymentChoice, counts: Bool) {
            self.tickets[deployment.id] = BreakerTicket(deployment: deployment.state, counts: counts)
        }

        /// Notes an attempt that failed; `unhealthy` when the error counts against the deployment.
        mutating func noteFailure(on deployment: DeploymentChoice, unhealthy: Bool) {
            self.tickets[deployment.id]?.tried = true
            if unhealthy { self.tickets[deployment.id]?.failed = true }
        }

        /// Hands the deployment's ticket to the answer it served: whether its outcome counts.
        mutating func takeTicket(for deployment: DeploymentChoice) -> Bool {
            self.tickets.removeValue(forKey: deployment.id)?.counts ?? false
        }

        /// Records the outcome of every deployment the request is done with.
        mutating func settleTickets(logger: Logger, audit: AuditLog) {
            for ticket in self.tickets.values { ticket.settle(abandoned: self.abandoned, logger: logger, audit: audit) }
            self.tickets = [:]
        }

        func candidate(_ step: RoutePlan.Step, _ deployment: DeploymentChoice) -> RouteCandidate {
            RouteCandidate(model: step.model, deployment: deployment, role: step.role, decisions: self.decisions)
        }

        /// Records a failure. Returns whether the deployment may be tried again (the error is
        /// worth a retry and the deployment had fewer than `max_attempts`); throws the error when
        /// the client must get it at once.
        mutating func record(_ error: ProxyError, from deployment: DeploymentChoice, disposition: Disposition) throws(ProxyError) -> Bool {
            self.errors.append(error)
            if disposition == .fail { throw error }
            let failed = (self.failures[deployment.id]?.count ?? 0) + 1
            self.failures[deployment.id] = (failed, error.retryAfter)
            return disposition == .retry && failed < self.resilience.maxAttemptsPerDeployment
        }

        /// Sleeps the backoff before retrying a deployment that failed; `false` when its
        /// `Retry-After` would exceed the request's remaining `max_wait`.
        mutating func waitBeforeRetrying(_ deployment: DeploymentChoice) async throws(ProxyError) -> Bool {
            guard let failure = self.failures[deployment.id] else { return true }
            var random = FastRandom()
            let delay = self.resilience.backoff.delay(
                beforeRetry: failure.count,
                random: Double.random(in: 0...1, using: &random),
                retryAfter: failure.retryAfter
            )
            guard self.waited + delay <= self.resilience.maxWait else { return false }
            self.waited += delay
            do {
                try await Task.sleep(for: delay)
            } catch {
                throw ProxyError(.cancelled, "The client went away while the sidecar waited to retry.")
            }
            return true
        }

        /// The error for a request no deployment answered: the provider's own error when only
        /// one deployment was tried or every failure was a rate limit; 503 `provider_unavailable`
        /// when no candidate had a key; else 503 `all_candidates_failed` naming what was tried.
        func finalError() -> ProxyError {
            let tried = Set(self.decisions.map(\.deployment))
            if let last = self.errors.last, tried.count == 1 || self.errors.allSatisfy({ $0.status == 429 }) {
                return last
            }
            if self.errors.isEmpty, !self.unusable.isEmpty, self.decisions.allSatisfy({ $0.reason == Self.noKey }) {
                let models = self.plan.steps.map(\.model.name).joined(separator: ", ")
                return ProxyError(.providerUnavailable, "No candidate can serve the request (\(models)): \(self.unusable.joined(separator: "; ")).")
            }
            if self.errors.isEmpty, let wait = self.breakerWait,
                self.decisions.allSatisfy({ $0.reason == Self.breakerOpen || $0.reason == Self.noKey })
            {
                return Self.circuitOpen(self.plan, wait: wait)
            }
            let attempts = self.decisions.map { "\($0.deployment) (\($0.reason ?? $0.outcome.rawValue))" }.joined(separator: ", ")
            let models = self.plan.steps.map(\.model.name).joined(separator: ", ")
            var error = ProxyError(
                .allCandidatesFailed,
                attempts.isEmpty ? "No deployment of \(models) could take the request." : "Every candidate failed or was unavailable: \(attempts)."
            )
            error.retryAfter = self.errors.compactMap(\.retryAfter).min()
            return error
        }

        /// 503 `circuit_open`: every candidate's breaker is open; `Retry-After` says when the
        /// first admits a probe (at least 1 s).
        private static func circuitOpen(_ plan: RoutePlan, wait: Duration) -> ProxyError {
            let models = plan.steps.map(\.model.name).joined(separator: ", ")
            var error = ProxyError(
                .circuitOpen,
                "The circuit breaker of every deployment of \(models) is open after repeated failures; the next probe goes out in \(wait.components.seconds + 1) s."
            )
            error.retryAfter = max(wait, .seconds(1))
            return error
        }
    }
}
