//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import HTTPTypes
import Hummingbird
import Translate

/// Every HTTP route the sidecar serves.
enum SidecarRouter {
    static func make(context: ProxyContext) -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(OpenAIErrorMiddleware())
        let chat = ChatProxy(context: context)
        let embeddings = EmbeddingsProxy(context: context)
        let models = ModelsRoutes(store: context.store)
        let passthrough = PassthroughProxy(context: context)

        router.get("/healthz") { _, _ in ModelsRoutes.json(["status": "ok"]) }
        router.post("/v1/chat/completions") { request, _ in await chat.respond(to: request, api: .openAI) }
        router.post("/api/v1/chat/completions") { request, _ in await chat.respond(to: request, api: .service) }
        router.post("/v1/embeddings") { request, _ in await embeddings.respond(to: request) }
        router.get("/v1/models") { _, _ in models.openAIList() }
        router.get("/v1/models/**") { request, _ in
            models.openAIModel(id: String(request.uri.path.dropFirst("/v1/models/".count)))
        }
        router.get("/api/v1/models") { _, _ in models.serviceList() }
        // Everything else under /v1 — other methods on the paths above too, such as listing
        // stored completions (GET /v1/chat/completions) or deleting a fine-tuned model.
        let served: Set<String> = ["POST /v1/chat/completions", "POST /v1/embeddings", "GET /v1/models", "GET /v1/models/**"]
        for path in ["/v1/**", "/v1/chat/completions", "/v1/embeddings", "/v1/models", "/v1/models/**"] {
            for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] where !served.contains("\(method) \(path)") {
                router.on(RouterPath(path), method: method) { request, _ in await passthrough.respond(to: request) }
            }
        }
        return router
    }
}
