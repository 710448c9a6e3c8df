//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Synchronization

/// Writes made after an answer (settling a quota reservation, adding to the fleet statistics),
/// which no client waits for: queued, then sent together in one pipelined round trip — a
/// request's settle and statistics travel in the same write, and under load many requests'
/// writes share one.
///
/// Bounded: at most ``maximumQueued`` (10,000) calls wait; beyond that, and for every call of a
/// round trip that failed (or was not tried because the store is unavailable), the call
/// completes as failed — the quota ledger keeps the charge to add later, the statistics drop it
/// (the usage lines still have it).
final class StoreWriteQueue: Sendable {
    static let maximumQueued = 10_000

    struct Call: Sendable {
        var script: RedisScript
        var keys: [String]
        var arguments: [String]
        /// Told whether the call ran (`false`: it did not, or the script failed).
        var completion: @Sendable (_ succeeded: Bool) -> Void = { _ in }
    }

    private struct State {
        var calls: [Call] = []
        var flushing = false
    }

    private let state = Mutex(State())
    private let client: RedisClient
    private let health: StoreHealth

    init(client: RedisClient, health: StoreHealth) {
        self.client = client
        self.health = health
    }

    func enqueue(_ call: Call) {
        let start = self.state.withLock { state -> Bool? in
            guard state.calls.count < Self.maximumQueued else { return nil }
            state.calls.append(call)
            defer { state.flushing = true }
            return !state.flushing
        }
        switch start {
        case nil: call.completion(false)
        case true?: Task { await self.flush() }
        case false?: break
        }
    }

    /// Sends what is queued, one round trip at a time, until nothing is left.
    private func flush() async {
        while true {
            let calls = self.state.withLock { state -> [Call] in
                defer { state.calls = [] }
                if state.calls.isEmpty { state.flushing = false }
                return state.calls
            }
            guard !calls.isEmpty else { return }
            guard self.health.shouldTry() else {
                for call in calls { call.completion(false) }
                continue
            }
            do {
                let replies = try await self.client.run(calls.map { (script: $0.script, keys: $0.keys, arguments: $0.arguments) })
                self.health.record(success: true)
                for (call, reply) in zip(calls, replies) {
                    if case .error = reply { call.completion(false) } else { call.completion(true) }
                }
            } catch {
                self.health.record(success: false, error: error)
                for call in calls { call.completion(false) }
            }
        }
    }
}
