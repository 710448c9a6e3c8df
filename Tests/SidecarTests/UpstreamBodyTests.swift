//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Testing

@testable import Sidecar

@Suite struct UpstreamBodyTests {
    private static func body(_ sizes: [Int]) -> UpstreamBody {
        UpstreamBody(PreparedBody(pieces: sizes.map { [UInt8](repeating: 0x61, count: $0) }))
    }

    /// Two answers of 60 bytes that arrive together against a budget of 100: reserved piece by
    /// piece, each would hold a slice and neither fit; declared lengths keep the first whole.
    @Test func aDeclaredLengthIsReservedBeforeTheFirstPiece() async throws {
        let pool = CapacityPool()
        let first = BufferBudget(pool: pool, limit: 100)
        let second = BufferBudget(pool: pool, limit: 100)
        let secondBody = Self.body([30, 30])

        let kept = try await Self.body([30, 30]).collect(upTo: 1_000, budget: first, declaredLength: 60)
        #expect(kept.count == 60)
        await #expect(throws: ProxyError.self) {
            try await secondBody.collect(upTo: 1_000, budget: second, declaredLength: 60)
        }
        #expect(pool.inUse == 60)
        first.claim.release()
        #expect(pool.inUse == 0)
    }

    @Test func bytesBeyondTheDeclaredLengthAreReservedAsTheyArrive() async throws {
        let pool = CapacityPool()
        let budget = BufferBudget(pool: pool, limit: 100)
        let kept = try await Self.body([40, 40]).collect(upTo: 1_000, budget: budget, declaredLength: 50)
        #expect(kept.count == 80)
        #expect(pool.inUse == 80)

        let over = BufferBudget(pool: pool, limit: 100)
        await #expect(throws: ProxyError.self) {
            try await Self.body([10, 30]).collect(upTo: 1_000, budget: over, declaredLength: 10)
        }
        budget.claim.release()
    }

    @Test func aDeclaredLengthBeyondTheCapIsRefusedUnread() async throws {
        let pool = CapacityPool()
        let body = Self.body([10])
        let error = await #expect(throws: ProxyError.self) {
            try await body.collect(upTo: 100, budget: BufferBudget(pool: pool, limit: 1_000), declaredLength: 101)
        }
        #expect(error?.code == .upstreamResponseTooLarge)
        #expect(pool.inUse == 0)
        await #expect(throws: ProxyError.self) { try await body.next() }  // cancelled
    }
}
