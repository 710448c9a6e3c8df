//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
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

    /// The form kept in the fleet's store: client, response and input items, separated by NUL
    /// (which neither a client name nor serialized JSON holds).
    var storeBytes: [UInt8] {
        Array(self.client.utf8) + [0] + self.responseBytes + [0] + self.inputBytes
    }

    /// A response read back from ``storeBytes``; `nil` when they are not in that form.
    init?(id: String, storeBytes bytes: [UInt8]) {
        let parts = bytes.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        self.id = id
        self.client = String(decoding: parts[0], as: UTF8.self)
        self.responseBytes = Array(parts[1])
        self.inputBytes = Array(parts[2])
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

/// Where stored responses live: this process's memory (``InMemoryResponseStore``), or the
/// fleet's store (``RedisResponseStore``) so a follow-up may reach any pod.
protocol ResponseStore: Sendable {
    /// Keeps `response`; never waits (a store over the network writes in the background).
    func save(_ response: StoredResponse)
    /// The response `id` of `client`, unless it expired or was evicted.
    /// - Throws: 503 `store_unavailable` when the fleet's store does not answer.
    func load(id: String, client: String) async throws(ProxyError) -> StoredResponse?
    /// Deletes the response `id` of `client`; `false` when there is none.
    /// - Throws: 503 `store_unavailable` when the fleet's store does not answer.
    func delete(id: String, client: String) async throws(ProxyError) -> Bool
}
