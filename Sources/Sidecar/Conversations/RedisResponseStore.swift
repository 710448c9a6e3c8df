//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Synchronization

/// Stored responses on the fleet's store, so a follow-up (`previous_response_id`) or a `GET`
/// reaches them from any pod: key `<prefix>response:<id>`, value ``StoredResponse/storeBytes``,
/// expiring after `responses.store.ttl`. A response larger than `responses.store.max_bytes` is
/// not kept; how many the store holds is bounded by its own `maxmemory` (`max_entries` applies
/// to the in-process store only).
///
/// Saving never waits: the write joins the next pipelined round trip. Until it is confirmed the
/// response is also kept here (at most ``maximumUnconfirmed``, 1,000), so a follow-up sent to
/// this pod right after the answer finds it. A response whose write failed is lost (the
/// follow-up gets 400 `previous_response_not_found`).
final class RedisResponseStore: ResponseStore {
    static let maximumUnconfirmed = 1_000

    private let store: FleetStore
    private let limits: InMemoryResponseStore.Limits
    private let unconfirmed = Mutex<[String: StoredResponse]>([:])

    /// `KEYS`: the response's key; `ARGV`: value, TTL (ms).
    static let saveScript = RedisScript("redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 0")
    /// `KEYS`: the response's key; `ARGV`: the owner's prefix (client and NUL). Deletes it only
    /// when the owner matches; returns 1 when deleted.
    static let deleteScript = RedisScript(
        """
        local value = redis.call('GET', KEYS[1])
        if value and string.sub(value, 1, #ARGV[1]) == ARGV[1] then
          redis.call('DEL', KEYS[1])
          return 1
        end
        return 0
        """
    )

    init(store: FleetStore, limits: InMemoryResponseStore.Limits) {
        self.store = store
        self.limits = limits
    }

    func save(_ response: StoredResponse) {
        guard response.size <= self.limits.maximumBytes, !response.id.isEmpty else { return }
        let id = response.id
        let kept = self.unconfirmed.withLock { table in
            guard table.count < Self.maximumUnconfirmed else { return false }
            table[id] = response
            return true
        }
        let milliseconds = Int64((self.limits.timeToLive / .milliseconds(1)).rounded())
        self.store.writes.enqueue(
            StoreWriteQueue.Call(
                script: Self.saveScript,
                keys: [self.key(id)],
                arguments: [String(decoding: response.storeBytes, as: UTF8.self), String(max(1, milliseconds))],
                completion: { _ in if kept { self.unconfirmed.withLock { _ = $0.removeValue(forKey: id) } } }
            )
        )
    }

    func load(id: String, client: String) async throws(ProxyError) -> StoredResponse? {
        if let pending = self.unconfirmed.withLock({ $0[id] }) { return pending.client == client ? pending : nil }
        let reply = try await self.round([["GET", RedisArgument(self.key(id))]])
        guard case .bulkString(let bytes?) = reply, let stored = StoredResponse(id: id, storeBytes: bytes), stored.client == client else {
            return nil
        }
        return stored
    }

    func delete(id: String, client: String) async throws(ProxyError) -> Bool {
        let owner = client + "\u{0}"
        let deleted = self.unconfirmed.withLock { table in
            guard table[id]?.client == client else { return false }
            table[id] = nil
            return true
        }
        do {
            let replies = try await self.store.client.run([(script: Self.deleteScript, keys: [self.key(id)], arguments: [owner])])
            return deleted || replies.first == .integer(1)
        } catch {
            throw Self.unavailable(error)
        }
    }

    private func round(_ commands: [[RedisArgument]]) async throws(ProxyError) -> RESPValue? {
        do {
            return try await self.store.client.pipeline(commands).first
        } catch {
            throw Self.unavailable(error)
        }
    }

    private func key(_ id: String) -> String { self.store.key("response:\(id)") }

    private static func unavailable(_ error: RedisError) -> ProxyError {
        var failure = ProxyError(.storeUnavailable, "The fleet's store, which keeps stored responses, did not answer (\(error.code)); retry shortly.")
        failure.retryAfter = .seconds(1)
        return failure
    }
}
