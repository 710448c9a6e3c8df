//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import NIOCore
import NIOHTTP1
import SidecarModel
import Translate

/// The request path for chat completions: read the request, route it, translate it, send it,
/// translate the answer back (whole or as a stream), bill it, and write its usage line.
struct ChatProxy: Sendable {
    let context: ProxyContext

    /// The largest answer accepted from a provider, whole or streamed (32 MiB).
    static let maximumResponseBytes = 32 << 20
    /// The most of a provider's error body read (64 KiB).
    static let maximumErrorBytes = 64 << 10

    func respond(to request: ServerRequest, api: ProxyContext.API) async -> ServerResponse {
        let clock = RequestClock()
        var record = UsageRecord(requestID: ProxyContext.requestID(for: request), api: api.rawValue, operation: "chat")
        do {
            return try await self.proxy(request, api: api, record: &record, clock: clock)
        } catch {
            return self.context.respond(error: error, api: api, record: record, clock: clock)
        }
    }

    private func proxy(
        _ request: ServerRequest,
        api: ProxyContext.API,
        record: inout UsageRecord,
        clock: RequestClock
    ) async throws(ProxyError) -> ServerResponse {
        let snapshot = self.context.store.current
        let client = try self.context.authenticate(request, snapshot: snapshot, record: &record)
        record.taskType = try NamePolicy.taskTypeHeader.checked(request.header("X-Task-Type"))
        let body = try self.context.body(of: request)
        let chat: ChatRequest
        do {
            chat = try ChatRequest(parsing: body.readableBytesView)
        } catch {
            throw ProxyError(error)
        }
        try NamePolicy.model.checked(chat.model)
        try NamePolicy.taskType.checked(chat.taskType)
        record.requestedModel = chat.model
        record.stream = chat.stream
        // Reserved before the provider is called and held until the relay ended; an error below
        // drops it, which releases it.
        let slot = chat.stream ? try self.context.admitStream(snapshot: snapshot) : nil
        let routed = try self.context.authorize(
            Router(snapshot: snapshot).plan(model: chat.model, taskType: chat.taskType ?? record.taskType),
            for: client,
            requestedModel: chat.model,
            record: &record
        )
        record.taskType = routed.taskType
        let need = Preflight.Need(
            promptTokens: TokenEstimator.estimatePromptTokens(chat),
            requestedOutput: chat.maxOutputTokens,
            choices: chat.options.choiceCount ?? 1,
            generates: true
        )
        let plan = try Preflight(context: self.context, snapshot: snapshot).admit(routed, need: need, record: &record)
        let answer = try await self.context.dispatcher(for: snapshot).dispatch(plan, streaming: chat.stream, record: &record) {
            step,
            deployment throws(ProxyError) in
            do throws(TranslationError) {
                return try deployment.provider.dialect.encodeRequest(chat, target: step.model.target(on: deployment.configuration))
            } catch {
                throw ProxyError(error)
            }
        }
        record.note(answer.candidate)
        if let slot {
            return ChatStream(context: self.context, request: chat, route: answer.candidate, answer: answer, slot: slot, record: record, clock: clock)
                .response()
        }
        let budget = self.context.bufferBudget(snapshot: snapshot)
        do {
            var response = try await self.complete(
                chat,
                route: answer.candidate,
                exchange: answer.response,
                budget: budget,
                api: api,
                record: &record,
                clock: clock
            )
            answer.lease.release(success: true)
            response.holding = budget.claim
            return response
        } catch {
            // A broken or malformed answer counts for the breaker like a failed attempt.
            answer.lease.release(after: error)
            throw error
        }
    }

    /// Reads, translates and answers a non-streaming completion.
    private func complete(
        _ chat: ChatRequest,
        route: RouteCandidate,
        exchange: UpstreamResponse,
        budget: BufferBudget,
        api: ProxyContext.API,
        record: inout UsageRecord,
        clock: RequestClock
    ) async throws(ProxyError) -> ServerResponse {
        let bytes = try await exchange.body.collect(upTo: Self.maximumResponseBytes, budget: budget)
        var completion: ChatResponse
        do {
            completion = try route.provider.dialect.decodeResponse(bytes, for: chat, context: ResponseContext.fresh(model: route.upstreamModel))
        } catch {
            throw ProxyError(error)
        }
        record.responseModel = completion.responseModel
        record.responseID = completion.responseID
        record.finishReasons = completion.finishReasons
        let billing = Billing(route: route, providerUsage: completion.usage) {
            TextTally(completion.text ?? "").estimatedTokens
        } promptEstimate: {
            TokenEstimator.estimatePromptTokens(chat)
        }
        billing.apply(to: &record)
        let headers = ProxyContext.headers(requestID: record.requestID, contentType: "application/json", cost: billing.cost, route: route)
        if api == .service {
            completion.body = ServiceAPI.augment(completion.body, text: completion.text, provider: route.provider.name, cost: billing.cost)
            completion.originalBytes = nil
        }
        return self.context.respond(status: .ok, headers: headers, bytes: completion.serialized(), record: record, clock: clock)
    }
}
