//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SidecarModel
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
        /// The deployment's concurrency slot and breaker admission: release it with the
        /// request's outcome once the body has been read.
        var lease: DeploymentLease
    }

    /// Builds the provider request for a step's deployment.
    typealias Encoder = @Sendable (RoutePlan.Step, DeploymentChoice) throws(ProxyError) -> EncodedRequest

    func dispatch(_ plan: RoutePlan, streaming: Bool, context: inout RequestContext, encode: Encoder) async throws(ProxyError) -> Answer {
        var attempt = Attempt(plan: plan, resilience: self.resilience)
        attempt.decisions = context.decisions
        self.budget.recordRequest(at: .now)
        defer {
            context.attempts = attempt.count
            attempt.settleTickets(logger: self.logger, audit: self.audit)
        }
        do throws(ProxyError) {
            for step in plan.steps {
                if let answer = try await self.serve(step, attempt: &attempt, streaming: streaming, encode: encode) {
                    context.note(answer.candidate)
                    return answer
                }
                if attempt.exhausted { break }
            }
        } catch {
            // Ended early — the client gave up before the first byte, or a provider refused the
            // request for good: recorded against the deployment that was being tried.
            attempt.abandoned = error.code == .cancelled || error.code == .shuttingDown
            context.decisions = attempt.decisions
            if let (step, deployment) = attempt.lastTried {
                context.destination = .unserved(step, deployment)
            } else if let first = plan.steps.first {
                context.destination = .unserved(first, nil)
            }
            throw error
        }
        context.decisions = attempt.decisions
        if let first = plan.steps.first { context.destination = .unserved(first, nil) }
        throw attempt.finalError()
    }

    /// Tries the deployments of one candidate model; `nil` when none answered.
    private func serve(
        _ step: RoutePlan.Step,
        attempt: inout Attempt,
        streaming: Bool,
        encode: Encoder
    ) async throws(ProxyError) -> Answer? {
        var random = FastRandom()
        var rotation = Balancer.order(step.deployments, by: step.model.entry.balance, using: &random)
        let panic = self.isPanicking(step.deployments)
        while !rotation.isEmpty, !attempt.exhausted {
            let deployment = rotation.removeFirst()
            guard try await self.admit(deployment, step: step, panic: panic, attempt: &attempt) else { continue }
            let started = ContinuousClock.now
            do {
                let answer = try await self.send(step, on: deployment, streaming: streaming, encode: encode)
                deployment.state.record(firstByte: .now - started)
                let counts = attempt.takeTicket(for: deployment)
                let lease = DeploymentLease(deployment.state, countsForBreaker: counts, logger: self.logger, audit: self.audit)
                attempt.note(step, deployment, .served, nil)
                return Answer(response: answer.response, candidate: attempt.candidate(step, deployment), firstPiece: answer.firstPiece, lease: lease)
            } catch {
                deployment.state.release()
                attempt.noteFailure(on: deployment, unhealthy: error.countsAgainstHealth)
                attempt.note(step, deployment, .failed, error.shortDescription)
                if try attempt.record(error, from: deployment, disposition: self.disposition(of: error)) {
                    rotation.append(deployment)
                }
                self.logger.debug("attempt failed", metadata: ["upstream.deployment": "\(deployment.id)", "error.type": "\(error.shortDescription)"])
            }
        }
        return nil
    }

    /// Checks a deployment's key, breaker (once per request: retries on the same deployment
    /// belong to the admission of the first attempt), capacity and the retry budget, and waits
    /// out any backoff; on `true` a concurrency slot is taken for the attempt.
    private func admit(
        _ deployment: DeploymentChoice,
        step: RoutePlan.Step,
        panic: Bool,
        attempt: inout Attempt
    ) async throws(ProxyError) -> Bool {
        if let reason = deployment.provider.configuration.unusableReason {
            attempt.noteUnusable(step, deployment, reason: reason)
            return false
        }
        if !attempt.holdsTicket(for: deployment) {
            guard panic || deployment.state.admit(at: .now, logger: self.logger, audit: self.audit) else {
                attempt.noteBreakerOpen(step, deployment)
                return false
            }
            attempt.openTicket(for: deployment, counts: !panic)
        }
        guard deployment.state.acquire(limit: deployment.configuration.maxConcurrency) else {
            attempt.note(step, deployment, .skipped, "busy")
            return false
        }
        guard attempt.count == 0 || self.budget.acquireRetry(at: .now, policy: self.resilience.budget) else {
            deployment.state.release()
            attempt.note(step, deployment, .skipped, "retry_budget_exhausted")
            attempt.exhausted = true
            return false
        }
        let waited: Bool
        do {
            waited = try await attempt.waitBeforeRetrying(deployment)
        } catch {
            deployment.state.release()
            throw error
        }
        guard waited else {
            deployment.state.release()
            attempt.note(step, deployment, .skipped, "retry_after_too_long")
            return false
        }
        attempt.count += 1
        return true
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
            let body = (try? await response.body.collect(upTo: Pipeline.maximumErrorBytes)) ?? []
            throw provider.proxyError(status: response.head.status, body: body, head: response.head)
        }
        return (response, streaming ? try await response.body.next() : nil)
    }

    /// Panic mode (Envoy's panic threshold): when more of a model's deployments have open
    /// breakers than `max_ejected_share` allows — and always at least one may be out, as with
    /// Envoy's `max_ejection_percent` — breakers are ignored and the load spreads over all of
    /// them. A model with one deployment never panics: there is no load to spread, so its open
    /// breaker fails fast (503 `circuit_open`) or sends the request to the model's fallbacks.
    private func isPanicking(_ deployments: [DeploymentChoice]) -> Bool {
        guard deployments.count > 1 else { return false }
        let now = ContinuousClock.now
        let open = deployments.count { $0.state.breaker.state(at: now) == .open }
        return open > max(1, Int(self.resilience.maxEjectedShare * Double(deployments.count)))
    }
}
