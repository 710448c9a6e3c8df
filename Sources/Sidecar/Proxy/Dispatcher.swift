//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import Translate

/// Sends a request along its ``RoutePlan`` until a deployment answers: load balancing, circuit
/// breakers, concurrency caps, retries with backoff and `Retry-After`, the retry budget and
/// failover to fallback models.
///
/// Everything happens before the first byte reaches the client: a stream counts as answered only
/// once its first body bytes arrived, so a provider that fails before saying anything is retried
/// like one that refused the request.
struct Dispatcher: Sendable {
    let resilience: ResilienceSettings
    let budget: RetryBudget
    let logger: Logger
    let audit: AuditLog

    /// The answer that won, with where it came from.
    struct Answer: Sendable {
        var response: UpstreamResponse
        var candidate: RouteCandidate
        /// For streams: the first body bytes, already read (`nil`: the body is empty or not read).
        var firstPiece: [UInt8]?
        /// The deployment's concurrency slot: release it once the body has been read.
        var lease: DeploymentLease
    }

    /// Builds the provider request for a step's deployment.
    typealias Encoder = @Sendable (RoutePlan.Step, DeploymentChoice) throws(ProxyError) -> EncodedRequest

    func dispatch(_ plan: RoutePlan, streaming: Bool, record: inout UsageRecord, encode: Encoder) async throws(ProxyError) -> Answer {
        var attempt = Attempt(plan: plan, resilience: self.resilience)
        attempt.decisions = record.routeDecisions
        self.budget.recordRequest(at: .now)
        defer { record.attempts = attempt.count }
        do throws(ProxyError) {
            for step in plan.steps {
                if let answer = try await self.serve(step, attempt: &attempt, streaming: streaming, encode: encode) {
                    record.routeDecisions = attempt.decisions
                    return answer
                }
                if attempt.exhausted { break }
            }
        } catch {
            // Ended early — the client gave up before the first byte, or a provider refused the
            // request for good: recorded against the deployment that was being tried.
            record.routeDecisions = attempt.decisions
            if let (step, deployment) = attempt.lastTried {
                record.noteUnserved(step, on: deployment)
            } else if let first = plan.steps.first {
                record.noteUnserved(first)
            }
            throw error
        }
        record.routeDecisions = attempt.decisions
        if let first = plan.steps.first { record.noteUnserved(first) }
        throw attempt.finalError()
    }

    /// Tries the deployments of one candidate model; `nil` when none answered.
    private func serve(
        _ step: RoutePlan.Step,
        attempt: inout Attempt,
        streaming: Bool,
        encode: Encoder
    ) async throws(ProxyError) -> Answer? {
        var random = SystemRandomNumberGenerator()
        var rotation = Balancer.order(step.deployments, by: step.model.entry.balance, using: &random)
        let panic = self.isPanicking(step.deployments)
        while !rotation.isEmpty, !attempt.exhausted {
            let deployment = rotation.removeFirst()
            guard let admission = try await self.admit(deployment, step: step, panic: panic, attempt: &attempt) else { continue }
            do {
                let answer = try await self.send(step, on: deployment, streaming: streaming, encode: encode)
                let lease = admission.succeeded()
                attempt.note(step, deployment, .served, nil)
                return Answer(response: answer.response, candidate: attempt.candidate(step, deployment), firstPiece: answer.firstPiece, lease: lease)
            } catch {
                admission.failed(countsAgainstHealth: self.countsAgainstHealth(error))
                attempt.note(step, deployment, .failed, error.shortDescription)
                if try attempt.record(error, from: deployment, disposition: self.disposition(of: error)) {
                    rotation.append(deployment)
                }
                self.logger.debug("attempt failed", metadata: ["upstream.deployment": "\(deployment.id)", "error.type": "\(error.shortDescription)"])
            }
        }
        return nil
    }

    /// Checks a deployment's key, breaker, capacity and the retry budget, and waits out any
    /// backoff; `nil` when it must be skipped.
    private func admit(
        _ deployment: DeploymentChoice,
        step: RoutePlan.Step,
        panic: Bool,
        attempt: inout Attempt
    ) async throws(ProxyError) -> Admission? {
        if let reason = deployment.provider.configuration.unusableReason {
            attempt.noteUnusable(step, deployment, reason: reason)
            return nil
        }
        let breaker = deployment.state.breaker
        guard panic || breaker.allow(at: .now) else {
            attempt.note(step, deployment, .skipped, "breaker_open")
            return nil
        }
        guard deployment.state.acquire(limit: deployment.configuration.maxConcurrency) else {
            if !panic { breaker.releaseProbe() }
            attempt.note(step, deployment, .skipped, "busy")
            return nil
        }
        let admission = Admission(deployment: deployment, countsForBreaker: !panic, logger: self.logger, audit: self.audit)
        guard attempt.count == 0 || self.budget.acquireRetry(at: .now, policy: self.resilience.budget) else {
            admission.abandon()
            attempt.note(step, deployment, .skipped, "retry_budget_exhausted")
            attempt.exhausted = true
            return nil
        }
        guard try await attempt.waitBeforeRetrying(deployment) else {
            admission.abandon()
            attempt.note(step, deployment, .skipped, "retry_after_too_long")
            return nil
        }
        attempt.count += 1
        return admission
    }

    private func send(
        _ step: RoutePlan.Step,
        on deployment: DeploymentChoice,
        streaming: Bool,
        encode: Encoder
    ) async throws(ProxyError) -> (response: UpstreamResponse, firstPiece: [UInt8]?) {
        let provider = deployment.provider
        let request = provider.upstreamRequest(for: try encode(step, deployment))
        let response = try await provider.client.execute(request, logger: self.logger)
        guard (200..<300).contains(response.head.status) else {
            let body = (try? await response.body.collect(upTo: ChatProxy.maximumErrorBytes)) ?? []
            throw provider.proxyError(status: response.head.status, body: body, head: response.head)
        }
        return (response, streaming ? try await response.body.next() : nil)
    }

    /// Panic mode: when more of a model's deployments have open breakers than
    /// `max_ejected_share` allows, breakers are ignored and the load spreads over all of them.
    private func isPanicking(_ deployments: [DeploymentChoice]) -> Bool {
        guard deployments.count > 1 else { return false }
        let now = ContinuousClock.now
        let open = deployments.count { $0.state.breaker.state(at: now) == .open }
        return open > max(1, Int(self.resilience.maxEjectedShare * Double(deployments.count)))
    }
}
