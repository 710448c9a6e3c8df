//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

@testable import Sidecar
@testable import SidecarModel

/// What the consumer of a transfer reads around a cancellation.
@Suite struct CurlTransferStateTests {
    static let head = UpstreamResponseHead(status: 200, headers: [])

    /// The answer arrived whole, then the client left before it was read: the body is still
    /// there, not an empty end (which read as a malformed answer and opened the breaker).
    @Test func aCancellationAfterTheWholeAnswerKeepsIt() throws {
        var state = CurlTransfer.StateMachine()
        _ = state.deliver(head: Self.head, data: Array("{\"id\":1}".utf8), error: nil, completed: true, paused: false)
        let (_, notifyEngine) = state.cancel()
        #expect(!notifyEngine)
        let first = state.takeBody()
        #expect(try first?.get().bytes == Array("{\"id\":1}".utf8))
        let end = state.takeBody()
        #expect(try end?.get().bytes == .some(nil))
    }

    /// A cancellation while the answer is still arriving ends reading with `cancelled`.
    @Test func aCancellationMidAnswerFailsTheNextRead() throws {
        var state = CurlTransfer.StateMachine()
        _ = state.deliver(head: Self.head, data: Array("{\"id\"".utf8), error: nil, completed: false, paused: false)
        let (_, notifyEngine) = state.cancel()
        #expect(notifyEngine)
        let next = state.takeBody()
        #expect(throws: ProxyError.self) { try next?.get() }
    }
}
