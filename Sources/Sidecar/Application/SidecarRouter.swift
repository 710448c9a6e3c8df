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
///
/// Proxied endpoints run through the one ``Pipeline``: registering an ``Endpoint`` is one line
/// in ``route(_:)``. Routes the sidecar answers itself share its authentication.
struct SidecarRouter: Sendable {
    private let pipeline: Pipeline
    private let models: ModelsRoutes
    private let usage: UsageRoutes
    private let responses: any ResponseStore
    let operations: OperationsRoutes

    init(services: Services) {
        self.operations = OperationsRoutes(
            store: services.store,
            lifecycle: services.lifecycle,
            metrics: services.metrics,
            quotas: services.quotas,
            storeHealth: services.fleet?.health
        )
        self.pipeline = Pipeline(services: services)
        self.models = ModelsRoutes(store: services.store)
        self.usage = UsageRoutes(statistics: services.statistics, fleet: services.fleet.map(FleetStatistics.init))
        self.responses = services.responses
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
        if let answer = await self.operations.respond(to: request) { return answer }
        return switch (request.method, request.path) {
        case (.POST, "/v1/chat/completions"): await self.pipeline.serve(ChatEndpoint(), request, api: .openAI)
        case (.POST, "/api/v1/chat/completions"): await self.pipeline.serve(ChatEndpoint(), request, api: .service)
        case (.POST, "/v1/embeddings"): await self.pipeline.serve(EmbeddingsEndpoint(), request, api: .openAI)
        case (.POST, "/v1/responses"): await self.pipeline.serve(ResponsesEndpoint(store: self.responses), request, api: .responses)
        case (.GET, let path) where path.hasPrefix(StoredResponseEndpoint.prefix),
            (.DELETE, let path) where path.hasPrefix(StoredResponseEndpoint.prefix):
            await self.pipeline.serve(StoredResponseEndpoint(store: self.responses), request, api: .responses)
        case (.POST, "/v1/messages"): await self.pipeline.serve(MessagesEndpoint(), request, api: .anthropic)
        case (.POST, "/v1/messages/count_tokens"): await self.pipeline.serve(CountTokensEndpoint(), request, api: .anthropic)
        case (.GET, "/v1/models") where request.header("anthropic-version") != nil:
            await self.pipeline.authenticated(request) { self.models.anthropicList(for: $0) }
        case (.GET, "/v1/models"): await self.pipeline.authenticated(request) { self.models.openAIList(for: $0) }
        case (.GET, let path) where path.hasPrefix("/v1/models/") && request.header("anthropic-version") != nil:
            await self.pipeline.authenticated(request) {
                self.models.anthropicModel(id: RequestPath.decoded(String(path.dropFirst("/v1/models/".count))), for: $0)
            }
        case (.GET, let path) where path.hasPrefix("/v1/models/"):
            await self.pipeline.authenticated(request) {
                self.models.openAIModel(id: RequestPath.decoded(String(path.dropFirst("/v1/models/".count))), for: $0)
            }
        case (.GET, "/api/v1/models"): await self.pipeline.authenticated(request) { self.models.serviceList(for: $0) }
        case (.GET, "/api/v1/usage/stats"):
            await self.pipeline.authenticated(request) { await self.usage.respond(to: request, report: .stats, for: $0) }
        case (.GET, "/api/v1/usage/costs"):
            await self.pipeline.authenticated(request) { await self.usage.respond(to: request, report: .costs, for: $0) }
        // Everything else under /v1 — also other methods on the paths above, such as listing
        // stored completions (GET /v1/chat/completions) or deleting a fine-tuned model.
        case (_, let path) where path.hasPrefix("/v1/"): await self.pipeline.serve(PassthroughEndpoint(), request, api: .openAI)
        default: Self.notFound(request)
        }
    }

    /// 404 in the OpenAI envelope.
    static func notFound(_ request: ServerRequest) -> ServerResponse {
        let error = ProxyError(.notFound, "The sidecar does not serve \(request.method) \(request.path).")
        return .json(error.openAIBody.json, status: .notFound)
    }
}
