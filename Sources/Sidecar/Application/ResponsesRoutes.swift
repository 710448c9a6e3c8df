//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1
import SidecarModel
import Translate

/// The stored-response routes of the Responses API, for the responses the sidecar stored
/// (``ResponseStore``): `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}` and
/// `GET /v1/responses/{id}/input_items` (`limit` 1–100, default 20; `order` `asc` or `desc`, the
/// default; `after` an item id). A response is visible only to the client that created it; an id
/// the sidecar does not hold is not answered here (the router passes it on to the passthrough
/// provider, which may hold it).
struct ResponsesRoutes: Sendable {
    let store: any ResponseStore

    static let prefix = "/v1/responses/"

    /// The answer for a stored response, or `nil` when the sidecar holds none under the path's id.
    func respond(to request: ServerRequest, for client: ClientIdentity) -> ServerResponse? {
        let rest = request.path.dropFirst(Self.prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard let first = rest.first, rest.count <= 2 else { return nil }
        let id = RequestPath.decoded(String(first))
        switch (request.method, rest.count == 2 ? String(rest[1]) : nil) {
        case (.GET, nil):
            return self.store.load(id: id, client: client.name).map { .json($0.response) }
        case (.DELETE, nil):
            guard self.store.delete(id: id, client: client.name) else { return nil }
            return .json(["id": .string(id), "object": "response", "deleted": true])
        case (.GET, "input_items"):
            return self.store.load(id: id, client: client.name).map { self.inputItems(of: $0, request.queryParameters) }
        default:
            return nil
        }
    }

    private func inputItems(of stored: StoredResponse, _ parameters: [String: String]) -> ServerResponse {
        guard let limit = Int(parameters["limit"] ?? "20"), (1...100).contains(limit) else {
            return Self.invalid("limit must be an integer from 1 to 100.", param: "limit")
        }
        let order = parameters["order"] ?? "desc"
        guard ["asc", "desc"].contains(order) else {
            return Self.invalid("order must be asc or desc.", param: "order")
        }
        var items = order == "asc" ? stored.inputItems : stored.inputItems.reversed()
        if let after = parameters["after"].map(RequestPath.decoded) {
            guard let index = items.firstIndex(where: { $0["id"]?.stringValue == after }) else {
                return Self.invalid("No input item has the id given as after.", param: "after")
            }
            items.removeFirst(index + 1)
        }
        let page = items.prefix(limit)
        return .json([
            "object": "list", "data": .array(page.map(JSONValue.object)), "first_id": page.first?["id"] ?? .null,
            "last_id": page.last?["id"] ?? .null, "has_more": .bool(items.count > limit),
        ])
    }

    private static func invalid(_ message: String, param: String) -> ServerResponse {
        let error = ProxyError(.invalidRequest, message, param: param)
        return .json(error.openAIBody.json, status: HTTPResponseStatus(statusCode: error.status))
    }
}
