//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Translate

/// A response the sidecar keeps for `previous_response_id` and `GET /v1/responses/{id}`, for
/// requests it translated (a provider that speaks Responses keeps its own).
///
/// Held as serialized JSON, so the bytes a store counts (``size``) are the bytes it holds; the
/// values are parsed again when a follow-up or a `GET` reads them.
struct StoredResponse: Sendable {
    let id: String
    /// The client that created it; no other client can read, continue or delete it.
    let client: String
    /// The `response` object as the client received it.
    private let responseBytes: [UInt8]
    /// Every input item the model saw, as a JSON array: the stored conversation it continued,
    /// then its own input.
    private let inputBytes: [UInt8]

    init(response: JSONObject, inputItems: [JSONObject], client: String) {
        self.id = response["id"]?.stringValue ?? ""
        self.client = client
        self.responseBytes = response.serialized()
        self.inputBytes = JSONValue.array(inputItems.map(JSONValue.object)).serialized()
    }

    var response: JSONObject { (try? JSONValue.parse(self.responseBytes))?.objectValue ?? [:] }

    var inputItems: [JSONObject] { ((try? JSONValue.parse(self.inputBytes))?.arrayValue ?? []).compactMap(\.objectValue) }

    /// What a follow-up continues: the input items, then this response's output items.
    var conversation: [JSONObject] {
        self.inputItems + (self.response["output"]?.arrayValue ?? []).compactMap(\.objectValue)
    }

    /// The bytes it holds.
    var size: Int { self.responseBytes.count + self.inputBytes.count + self.id.utf8.count + self.client.utf8.count }
}

/// Where stored responses live: this process's memory (``InMemoryResponseStore``) today, a
/// fleet-wide store next.
protocol ResponseStore: Sendable {
    func save(_ response: StoredResponse)
    /// The response `id` of `client`, unless it expired or was evicted.
    func load(id: String, client: String) -> StoredResponse?
    /// Deletes the response `id` of `client`; `false` when there is none.
    func delete(id: String, client: String) -> Bool
}
