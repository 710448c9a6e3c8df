//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Translate

/// A response the sidecar keeps for `previous_response_id` and `GET /v1/responses/{id}`, for
/// requests it translated (a provider that speaks Responses keeps its own).
struct StoredResponse: Sendable {
    /// The `response` object as the client received it.
    var response: JSONObject
    /// Every input item the model saw: the stored conversation it continued, then its own input.
    var inputItems: [JSONObject]
    /// The client that created it; no other client can read, continue or delete it.
    var client: String

    var id: String { self.response["id"]?.stringValue ?? "" }

    /// What a follow-up continues: the input items, then this response's output items.
    var conversation: [JSONObject] {
        self.inputItems + (self.response["output"]?.arrayValue ?? []).compactMap(\.objectValue)
    }

    /// The bytes it holds, as serialized JSON.
    var size: Int {
        self.inputItems.reduce(self.response.serialized().count) { $0 + $1.serialized().count }
    }
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
