//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
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

    /// Whether a failure says the deployment is unhealthy (rate limits and the client's own
    /// mistakes do not).
    func countsAgainstHealth(_ error: ProxyError) -> Bool {
        switch error.code {
        case .upstreamUnreachable, .upstreamConnectionFailed, .upstreamTimeout, .upstreamMalformed: return true
        case .upstreamError:
            switch error.upstreamFailure?.kind {
            case .serverError?, .overloaded?, .timeout?, .authentication?, .permission?, .quotaExhausted?: return true
            default: return false
            }
        default: return false
        }
    }

    /// A deployment slot and breaker admission taken for one attempt.
    struct Admission {
        let deployment: DeploymentChoice
        let countsForBreaker: Bool
        let logger: Logger
        let audit: AuditLog
        let started = ContinuousClock.now

        /// Records a success; the slot stays taken until the returned lease is released.
        func succeeded() -> DeploymentLease {
            self.deployment.state.record(firstByte: .now - self.started)
            if self.countsForBreaker { self.deployment.state.recordOutcome(success: true, at: .now, logger: self.logger, audit: self.audit) }
            return DeploymentLease(self.deployment.state)
        }

        func failed(countsAgainstHealth: Bool) {
            self.deployment.state.release()
            if self.countsForBreaker {
                self.deployment.state.recordOutcome(success: !countsAgainstHealth, at: .now, logger: self.logger, audit: self.audit)
            }
        }

        /// Gives the slot back without an attempt.
        func abandon() {
            self.deployment.state.release()
            if self.countsForBreaker { self.deployment.state.breaker.releaseProbe() }
        }
    }

    /// The running tally of one request's attempts.
    struct Attempt {
        let plan: RoutePlan
        let resilience: ResilienceSettings
        var count = 0
        var exhausted = false
        var decisions: [RouteDecision] = []
        /// The candidate and deployment of the last attempt that failed.
        private(set) var lastTried: (step: RoutePlan.Step, deployment: DeploymentChoice)?
        private var waited: Duration = .zero
        private var failures: [String: (count: Int, retryAfter: Duration?)] = [:]
        private var errors: [ProxyError] = []
        /// Why deployments without a usable key were skipped ("provider 'x' has no API key…").
        private var unusable: [String] = []

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
            let delay = self.resilience.backoff.delay(beforeRetry: failure.count, random: Double.random(in: 0...1), retryAfter: failure.retryAfter)
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
            let attempts = self.decisions.map { "\($0.deployment) (\($0.reason ?? $0.outcome.rawValue))" }.joined(separator: ", ")
            let models = self.plan.steps.map(\.model.name).joined(separator: ", ")
            var error = ProxyError(
                .allCandidatesFailed,
                attempts.isEmpty ? "No deployment of \(models) could take the request." : "Every candidate failed or was unavailable: \(attempts)."
            )
            error.retryAfter = self.errors.compactMap(\.retryAfter).min()
            return error
        }
    }
}
