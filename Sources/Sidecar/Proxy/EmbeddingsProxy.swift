//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1
import SidecarModel
import Translate

/// The request path for `/v1/embeddings`: route by model, translate, send, bill, log.
struct EmbeddingsProxy: Sendable {
    let context: ProxyContext

    func respond(to request: ServerRequest) async -> ServerResponse {
        let clock = RequestClock()
        var record = UsageRecord(requestID: ProxyContext.requestID(for: request), api: ProxyContext.API.openAI.rawValue, operation: "embeddings")
        do {
            return try await self.proxy(request, record: &record, clock: clock)
        } catch {
            return self.context.respond(error: error, api: .openAI, record: record, clock: clock)
        }
    }

    private func proxy(_ request: ServerRequest, record: inout UsageRecord, clock: RequestClock) async throws(ProxyError) -> ServerResponse {
        let snapshot = self.context.store.current
        let client = try self.context.authenticate(request, snapshot: snapshot, record: &record)
        let body = try self.context.body(of: request)
        let embeddings: EmbeddingsRequest
        do {
            embeddings = try EmbeddingsRequest(parsing: body.readableBytesView)
        } catch {
            throw ProxyError(error)
        }
        try NamePolicy.model.checked(embeddings.model)
        record.requestedModel = embeddings.model
        let routed = try self.context.authorize(
            Router(snapshot: snapshot).plan(model: embeddings.model, taskType: nil),
            for: client,
            requestedModel: embeddings.model,
            record: &record
        )
        let need = Preflight.Need(promptTokens: embeddings.estimatedInputTokens, generates: false)
        let plan = try Preflight(context: self.context, snapshot: snapshot).admit(routed, need: need, record: &record)
        let answer = try await self.context.dispatcher(for: snapshot).dispatch(plan, streaming: false, record: &record) {
            step,
            deployment throws(ProxyError) in
            do throws(TranslationError) {
                return try deployment.provider.dialect.encodeEmbeddingsRequest(embeddings, target: step.model.target(on: deployment.configuration))
            } catch {
                throw ProxyError(error)
            }
        }
        let route = answer.candidate
        record.note(route)
        let dialect = route.provider.dialect
        let budget = self.context.bufferBudget(snapshot: snapshot)
        let response: EmbeddingsResponse
        do throws(ProxyError) {
            let bytes = try await answer.response.body.collect(upTo: ChatProxy.maximumResponseBytes, budget: budget)
            do {
                response = try dialect.decodeEmbeddingsResponse(bytes, for: embeddings)
            } catch {
                throw ProxyError(error)
            }
            answer.lease.release(success: true)
        } catch {
            answer.lease.release(after: error)
            throw error
        }
        let billing = Billing(route: route, providerUsage: response.inputTokens.map { Usage(inputTokens: $0, outputTokens: 0) }) {
            0
        } promptEstimate: {
            embeddings.estimatedInputTokens
        }
        billing.apply(to: &record)
        let headers = ProxyContext.headers(requestID: record.requestID, contentType: "application/json", cost: billing.cost, route: route)
        var answered = self.context.respond(status: .ok, headers: headers, bytes: response.serialized(), record: record, clock: clock)
        answered.holding = budget.claim
        return answered
    }
}
