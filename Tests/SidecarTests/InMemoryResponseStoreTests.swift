//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing
import Translate

@testable import Sidecar

/// The stored responses stay within their bounds and belong to their client.
@Suite struct InMemoryResponseStoreTests {
    static func response(_ id: String, client: String = "app", text: String = "hello") -> StoredResponse {
        StoredResponse(
            response: ["id": .string(id), "output": [["type": "message", "content": .string(text)]]],
            inputItems: [["role": "user"]],
            client: client
        )
    }

    @Test func theOldestAreEvictedBeyondTheEntryBound() {
        let store = InMemoryResponseStore(limits: .init(maximumEntries: 3))
        for index in 0..<10 { store.save(Self.response("resp_\(index)")) }
        #expect(store.count == 3)
        #expect(store.load(id: "resp_6", client: "app") == nil)
        #expect(store.load(id: "resp_9", client: "app")?.conversation.count == 2)
    }

    @Test func theByteBoundHoldsAndOversizedResponsesAreNotKept() {
        let one = Self.response("resp_x").size
        let store = InMemoryResponseStore(limits: .init(maximumBytes: one * 2 + one / 2))
        for index in 0..<5 { store.save(Self.response("resp_\(index)")) }
        #expect(store.count == 2)
        #expect(store.bytes <= one * 2 + one / 2)
        store.save(Self.response("resp_big", text: String(repeating: "x", count: one * 3)))
        #expect(store.load(id: "resp_big", client: "app") == nil)
        #expect(store.count == 2)
    }

    @Test func expiredResponsesAreGoneAndMakeRoom() {
        let store = InMemoryResponseStore(limits: .init(maximumEntries: 2, timeToLive: .zero))
        store.save(Self.response("resp_1"))
        #expect(store.load(id: "resp_1", client: "app") == nil)
        store.save(Self.response("resp_2"))
        store.save(Self.response("resp_3"))
        #expect(store.count <= 2)
    }

    @Test func anotherClientCanNeitherReadNorDelete() {
        let store = InMemoryResponseStore()
        store.save(Self.response("resp_1", client: "alice"))
        #expect(store.load(id: "resp_1", client: "bob") == nil)
        #expect(!store.delete(id: "resp_1", client: "bob"))
        #expect(store.delete(id: "resp_1", client: "alice"))
        #expect(store.load(id: "resp_1", client: "alice") == nil)
        #expect(store.bytes == 0)
    }

    /// Many saves keep the bookkeeping bounded too (the order list is compacted).
    @Test func aLongRunStaysBounded() {
        let store = InMemoryResponseStore(limits: .init(maximumEntries: 10))
        for index in 0..<5_000 { store.save(Self.response("resp_\(index)")) }
        #expect(store.count == 10)
        #expect(store.bytes == (4_990..<5_000).reduce(0) { $0 + Self.response("resp_\($1)").size })
    }
}
