//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1
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
        let body = try self.context.body(of: request)
        let embeddings: EmbeddingsRequest
        do {
            embeddings = try EmbeddingsRequest(parsing: body.readableBytesView)
        } catch {
            throw ProxyError(error)
        }
        record.requestedModel = embeddings.model
        let route = try snapshot.route(model: embeddings.model)
        record.note(route)
        let dialect = route.provider.dialect
        let encoded: EncodedRequest
        do {
            encoded = try dialect.encodeEmbeddingsRequest(embeddings, target: route.model.target)
        } catch {
            throw ProxyError(error)
        }
        record.attempts = 1
        let exchange = try await route.provider.client.execute(route.provider.upstreamRequest(for: encoded), logger: self.context.logger)
        let bytes = try await exchange.body.collect(upTo: ChatProxy.maximumResponseBytes)
        guard (200..<300).contains(exchange.head.status) else {
            throw route.provider.proxyError(status: exchange.head.status, body: bytes, head: exchange.head)
        }
        let response: EmbeddingsResponse
        do {
            response = try dialect.decodeEmbeddingsResponse(bytes, for: embeddings)
        } catch {
            throw ProxyError(error)
        }
        let billing = Billing(route: route, providerUsage: response.inputTokens.map { Usage(inputTokens: $0, outputTokens: 0) }) {
            0
        } promptEstimate: {
            embeddings.estimatedInputTokens
        }
        billing.apply(to: &record)
        let headers = ProxyContext.headers(requestID: record.requestID, contentType: "application/json", cost: billing.cost)
        return self.context.respond(status: .ok, headers: headers, bytes: response.serialized(), record: record, clock: clock)
    }
}
