//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1
import SidecarModel
import Translate

/// Every HTTP route the sidecar serves.
struct SidecarRouter: Sendable {
    private let chat: ChatProxy
    private let embeddings: EmbeddingsProxy
    private let models: ModelsRoutes
    private let passthrough: PassthroughProxy
    private let context: ProxyContext
    private let usage: UsageRoutes
    let operations: OperationsRoutes

    init(context: ProxyContext) {
        self.operations = OperationsRoutes(store: context.store, lifecycle: context.lifecycle, metrics: context.metrics, quotas: context.quotas)
        self.chat = ChatProxy(context: context)
        self.embeddings = EmbeddingsProxy(context: context)
        self.models = ModelsRoutes(store: context.store)
        self.passthrough = PassthroughProxy(context: context)
        self.context = context
        self.usage = UsageRoutes(statistics: context.statistics)
    }

    /// Normalises the path (see ``RequestPath``) — a path refused there is answered in the OpenAI
    /// envelope and never reaches a route — then routes on the normal form.
    func respond(to request: ServerRequest) async -> ServerResponse {
        var request = request
        do {
            request.path = try RequestPath.normalized(request.path, query: request.query)
        } catch {
            return .json(error.openAIBody.json, status: HTTPResponseStatus(statusCode: error.status))
        }
        return await self.route(request)
    }

    private func route(_ request: ServerRequest) async -> ServerResponse {
        if let answer = self.operations.respond(to: request) { return answer }
        return switch (request.method, request.path) {
        case (.POST, "/v1/chat/completions"): await self.chat.respond(to: request, api: .openAI)
        case (.POST, "/api/v1/chat/completions"): await self.chat.respond(to: request, api: .service)
        case (.POST, "/v1/embeddings"): await self.embeddings.respond(to: request)
        case (.GET, "/v1/models"): self.authenticated(request) { self.models.openAIList(for: $0) }
        case (.GET, let path) where path.hasPrefix("/v1/models/"):
            self.authenticated(request) { self.models.openAIModel(id: RequestPath.decoded(String(path.dropFirst("/v1/models/".count))), for: $0) }
        case (.GET, "/api/v1/models"): self.authenticated(request) { self.models.serviceList(for: $0) }
        case (.GET, "/api/v1/usage/stats"): self.authenticated(request) { self.usage.respond(to: request, report: .stats, for: $0) }
        case (.GET, "/api/v1/usage/costs"): self.authenticated(request) { self.usage.respond(to: request, report: .costs, for: $0) }
        // Everything else under /v1 — also other methods on the paths above, such as listing
        // stored completions (GET /v1/chat/completions) or deleting a fine-tuned model.
        case (_, let path) where path.hasPrefix("/v1/"): await self.passthrough.respond(to: request)
        default: Self.notFound(request)
        }
    }

    /// `answer` for the request's client, or 401 when clients are configured and its token is
    /// missing or wrong.
    private func authenticated(_ request: ServerRequest, _ answer: (ClientIdentity) -> ServerResponse) -> ServerResponse {
        var record = UsageRecord(requestID: "", api: "", operation: "")
        do {
            return answer(try self.context.authenticate(request, snapshot: self.context.store.current, record: &record))
        } catch {
            return .json(error.openAIBody.json, status: HTTPResponseStatus(statusCode: error.status))
        }
    }

    /// 404 in the OpenAI envelope.
    static func notFound(_ request: ServerRequest) -> ServerResponse {
        let error = ProxyError(.notFound, "The sidecar does not serve \(request.method) \(request.path).")
        return .json(error.openAIBody.json, status: .notFound)
    }
}
