//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import NIOHTTP1
import SidecarModel
import Translate

/// `GET /v1/models`, `GET /v1/models/{id}` (OpenAI format) and `GET /api/v1/models` (the
/// original service format, with provider, context size, streaming, prices per 1k tokens,
/// strengths and best-for task types). Pattern entries (`gpt-*`) are routable but not listed.
struct ModelsRoutes: Sendable {
    let store: RuntimeStore
    /// The `created` timestamp reported for every model: when the sidecar started.
    let created = Int(Date().timeIntervalSince1970)

    /// The models `client` may use.
    private func listed(for client: ClientIdentity, in snapshot: RuntimeSnapshot) -> [ModelEntry] {
        snapshot.configuration.models.listed.filter { client.settings?.allows(model: $0.name) ?? true }
    }

    func openAIList(for client: ClientIdentity) -> ServerResponse {
        let snapshot = self.store.current
        let data = self.listed(for: client, in: snapshot).map { JSONValue.object(self.openAIModel($0.name, entry: $0, snapshot: snapshot)) }
        return .json(["object": "list", "data": .array(data)])
    }

    /// The list in Anthropic's shape, for clients that send `anthropic-version`: `data` of
    /// ``anthropicModel(_:)`` objects, `has_more: false`, `first_id`, `last_id`.
    func anthropicList(for client: ClientIdentity) -> ServerResponse {
        let ids = self.listed(for: client, in: self.store.current).map(\.name)
        let data = ids.map { JSONValue.object(self.anthropicModel($0)) }
        return .json(["data": .array(data), "has_more": false, "first_id": .optional(ids.first), "last_id": .optional(ids.last)])
    }

    /// One model in Anthropic's shape; 404 `not_found_error` in Anthropic's error shape.
    func anthropicModel(id: String, for client: ClientIdentity) -> ServerResponse {
        let snapshot = self.store.current
        guard (try? NamePolicy.model.checked(id)) != nil, snapshot.configuration.models.resolve(id) != nil,
            client.settings?.allows(model: id) ?? true
        else {
            let error = ProxyError(.modelNotFound, "The model '\(id)' does not exist in this sidecar.", param: "model")
            return .json(error.anthropicBody.json, status: .notFound)
        }
        return .json(self.anthropicModel(id))
    }

    /// `{"type":"model","id","display_name","created_at"}`, created when the sidecar started.
    private func anthropicModel(_ id: String) -> JSONObject {
        let created = Date(timeIntervalSince1970: Double(self.created)).formatted(.iso8601)
        return ["type": "model", "id": .string(id), "display_name": .string(id), "created_at": .string(created)]
    }

    func openAIModel(id: String, for client: ClientIdentity) -> ServerResponse {
        do {
            try NamePolicy.model.checked(id)
        } catch {
            return .json(error.openAIBody.json, status: HTTPResponseStatus(statusCode: error.status))
        }
        let snapshot = self.store.current
        guard let resolved = snapshot.configuration.models.resolve(id), client.settings?.allows(model: id) ?? true else {
            let error = ProxyError(.modelNotFound, "The model '\(id)' does not exist in this sidecar.", param: "model")
            return .json(error.openAIBody.json, status: .notFound)
        }
        return .json(self.openAIModel(id, entry: resolved.entry, snapshot: snapshot))
    }

    func serviceList(for client: ClientIdentity) -> ServerResponse {
        let snapshot = self.store.current
        let models = self.listed(for: client, in: snapshot).map { JSONValue.object(Self.serviceModel($0, snapshot: snapshot)) }
        return .json(["success": true, "count": .int(models.count), "models": .array(models)])
    }

    private func openAIModel(_ id: String, entry: ModelEntry, snapshot: RuntimeSnapshot) -> JSONObject {
        let isDemo = snapshot.providers[entry.provider]?.configuration.dialect.kind.isBuiltIn == true
        var model: JSONObject = [
            "id": .string(id), "object": "model", "created": .int(self.created),
            "owned_by": .string(isDemo ? "llm-sidecar-demo" : entry.provider),
        ]
        if isDemo { model["description"] = .string(DemoUpstreamClient.modelDescription) }
        return model
    }

    private static func serviceModel(_ entry: ModelEntry, snapshot: RuntimeSnapshot) -> JSONObject {
        let provider = snapshot.providers[entry.provider]?.configuration
        let isDemo = provider?.dialect.kind.isBuiltIn == true
        var price: JSONValue = .null
        if let entryPrice = entry.price {
            let perThousand: (Money) -> JSONValue = { $0.times(1000).json }
            price = [
                "input": perThousand(entryPrice.input), "output": perThousand(entryPrice.output),
                "cached_input": entryPrice.cachedInput.map(perThousand) ?? .null, "currency": .string(entryPrice.currency.rawValue),
            ]
        }
        return [
            "name": .string(entry.name),
            "provider": .string(entry.provider),
            "upstream_model": .string(entry.upstreamModel ?? entry.name),
            "context_window": entry.contextWindow.map(JSONValue.int) ?? .null,
            "max_output_tokens": entry.maxOutputTokens.map(JSONValue.int) ?? .null,
            "supports_streaming": true,
            "price_per_1k_tokens": price,
            "strengths": .array(entry.strengths.map(JSONValue.string)),
            "best_for": .array(entry.bestFor.map(JSONValue.string)),
            "description": .optional(isDemo ? DemoUpstreamClient.modelDescription : entry.description),
            "available": .bool(provider?.isUsable ?? false),
            "demo": .bool(isDemo),
        ]
    }
}
