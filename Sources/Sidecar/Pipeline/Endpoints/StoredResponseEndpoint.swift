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

/// The stored-response requests of the Responses API for the responses the sidecar stored
/// (``ResponseStore``): `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}` and
/// `GET /v1/responses/{id}/input_items` (`limit` 1–100, default 20; `order` `asc` or `desc`, the
/// default; `after` an item id). Answered by the sidecar (``Route/local(_:headers:)``), with a
/// usage line and one request against the quotas, like any request. A response is visible only
/// to the client that created it; an id the sidecar does not hold goes to the passthrough
/// provider, which may hold it. `?stream=true` (replaying the events) is 400 naming `stream`
/// for a stored response: the sidecar keeps the response, not its events.
struct StoredResponseEndpoint: Endpoint {
    let operation = "stored_response"
    let store: any ResponseStore

    static let prefix = "/v1/responses/"

    func parse(_ request: ServerRequest, body: ByteBuffer, context: inout RequestContext) throws(ProxyError) -> ServerRequest {
        request
    }

    func route(_ request: ServerRequest, of original: ServerRequest, context: RequestContext) async throws(ProxyError) -> Route<ServerRequest> {
        if let answer = try await self.answer(request, client: context.client.name) { return .local(answer, headers: [:]) }
        return .provider(try PassthroughEndpoint.route(try PassthroughEndpoint.forwarded(request), of: request, context: context))
    }

    /// The answer for a stored response, or `nil` when the sidecar holds none under the path's id.
    private func answer(_ request: ServerRequest, client: String) async throws(ProxyError) -> JSONObject? {
        let rest = request.path.dropFirst(Self.prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard let first = rest.first, rest.count <= 2 else { return nil }
        let id = RequestPath.decoded(String(first))
        switch (request.method, rest.count == 2 ? String(rest[1]) : nil) {
        case (.GET, nil):
            guard let stored = try await self.store.load(id: id, client: client) else { return nil }
            if request.queryParameters["stream"] == "true" {
                throw ProxyError(.unsupportedFeature, "A response the sidecar stored cannot be replayed as a stream.", param: "stream")
            }
            return stored.response
        case (.DELETE, nil):
            guard try await self.store.delete(id: id, client: client) else { return nil }
            return ["id": .string(id), "object": "response", "deleted": true]
        case (.GET, "input_items"):
            guard let stored = try await self.store.load(id: id, client: client) else { return nil }
            return try Self.inputItems(of: stored, request.queryParameters)
        default:
            return nil
        }
    }

    private static func inputItems(of stored: StoredResponse, _ parameters: [String: String]) throws(ProxyError) -> JSONObject {
        guard let limit = Int(parameters["limit"] ?? "20"), (1...100).contains(limit) else {
            throw ProxyError(.invalidRequest, "limit must be an integer from 1 to 100.", param: "limit")
        }
        let order = parameters["order"] ?? "desc"
        guard ["asc", "desc"].contains(order) else {
            throw ProxyError(.invalidRequest, "order must be asc or desc.", param: "order")
        }
        var items = order == "asc" ? stored.inputItems : stored.inputItems.reversed()
        if let after = parameters["after"].map(RequestPath.decoded) {
            guard let index = items.firstIndex(where: { $0["id"]?.stringValue == after }) else {
                throw ProxyError(.invalidRequest, "No input item has the id given as after.", param: "after")
            }
            items.removeFirst(index + 1)
        }
        let page = items.prefix(limit)
        return [
            "object": "list", "data": .array(page.map(JSONValue.object)), "first_id": page.first?["id"] ?? .null,
            "last_id": page.last?["id"] ?? .null, "has_more": .bool(items.count > limit),
        ]
    }
}
