//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Synchronization

/// Stored responses in this process's memory, bounded three ways (`responses.store`): at most
/// ``Limits/maximumEntries`` (1,000) responses and ``Limits/maximumBytes`` (64 MiB) of them,
/// each for ``Limits/timeToLive`` (1 hour). Saving beyond a bound evicts the oldest first; a
/// response larger than the byte bound is not kept. An expired or evicted response answers like
/// one never stored (404). Nothing survives a restart.
final class InMemoryResponseStore: ResponseStore {
    struct Limits: Sendable {
        var maximumEntries = 1_000
        var maximumBytes = 64 << 20
        var timeToLive: Duration = .seconds(3_600)

        init(maximumEntries: Int = 1_000, maximumBytes: Int = 64 << 20, timeToLive: Duration = .seconds(3_600)) {
            self.maximumEntries = maximumEntries
            self.maximumBytes = maximumBytes
            self.timeToLive = timeToLive
        }

        /// The limits `responses.store` configures.
        init(_ settings: ResponsesSettings) {
            self.init(maximumEntries: settings.maximumEntries, maximumBytes: settings.maximumBytes, timeToLive: settings.timeToLive)
        }
    }

    private struct Entry {
        var stored: StoredResponse
        var size: Int
        var expires: ContinuousClock.Instant
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Ids in the order they were saved — also the order they expire in — from `head`.
        var order: [String] = []
        var head = 0
        var bytes = 0

        mutating func evictOldest() {
            let id = self.order[self.head]
            self.head += 1
            if let entry = self.entries.removeValue(forKey: id) { self.bytes -= entry.size }
            if self.head > 64, self.head * 2 > self.order.count {
                self.order.removeFirst(self.head)
                self.head = 0
            }
        }
    }

    let limits: Limits
    private let state = Mutex(State())

    init(limits: Limits = Limits()) {
        self.limits = limits
    }

    var count: Int { self.state.withLock { $0.entries.count } }
    var bytes: Int { self.state.withLock { $0.bytes } }

    func save(_ response: StoredResponse) {
        let size = response.size
        guard size <= self.limits.maximumBytes else { return }
        let now = ContinuousClock.now
        let entry = Entry(stored: response, size: size, expires: now + self.limits.timeToLive)
        self.state.withLock { state in
            while state.head < state.order.count {
                let oldest = state.entries[state.order[state.head]]
                let expired = oldest.map { $0.expires <= now } ?? true
                guard expired || state.entries.count >= self.limits.maximumEntries || state.bytes + size > self.limits.maximumBytes else { break }
                state.evictOldest()
            }
            if let replaced = state.entries.updateValue(entry, forKey: response.id) { state.bytes -= replaced.size }
            state.order.append(response.id)
            state.bytes += size
        }
    }

    func load(id: String, client: String) -> StoredResponse? {
        let now = ContinuousClock.now
        return self.state.withLock { state in
            guard let entry = state.entries[id], entry.expires > now, entry.stored.client == client else { return nil }
            return entry.stored
        }
    }

    func delete(id: String, client: String) -> Bool {
        self.state.withLock { state in
            guard let entry = state.entries[id], entry.stored.client == client else { return false }
            state.entries[id] = nil
            state.bytes -= entry.size
            return true
        }
    }
}
