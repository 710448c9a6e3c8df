//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

/// Produces a response body piece by piece. Implementations deliver everything that has
/// arrived since the previous call at once, so a slow reader catches up in one call.
protocol UpstreamBodySource: Sendable {
    /// The bytes received since the last call, or `nil` at the end of the body.
    func next() async throws(ProxyError) -> [UInt8]?
    /// Stops the transfer; pending and later reads fail with ``ProxyError/Code/cancelled``.
    func cancel()
}

/// The body of a provider's answer. Read it once, from one task; dropping it unread
/// cancels the transfer so the provider stops generating (and billing) tokens.
final class UpstreamBody: Sendable {
    private let source: any UpstreamBodySource

    init(_ source: any UpstreamBodySource) {
        self.source = source
    }

    deinit {
        self.source.cancel()
    }

    /// The bytes received since the last call, or `nil` at the end of the body.
    func next() async throws(ProxyError) -> [UInt8]? {
        try await self.source.next()
    }

    /// Reads the whole body, reserving each piece in `budget` (when given) before keeping it.
    /// - Throws: ``ProxyError/Code/upstreamResponseTooLarge`` past `maximumBytes`, and
    ///   ``ProxyError/Code/bufferBudgetExhausted`` when the budget is spent (both cancel the transfer).
    func collect(upTo maximumBytes: Int, budget: BufferBudget? = nil) async throws(ProxyError) -> [UInt8] {
        var body: [UInt8] = []
        while let piece = try await self.next() {
            do {
                try budget?.reserve(piece.count)
            } catch {
                self.cancel()
                throw error
            }
            if body.isEmpty {
                body = piece
            } else {
                body.append(contentsOf: piece)
            }
            guard body.count <= maximumBytes else {
                self.cancel()
                throw ProxyError(.upstreamResponseTooLarge, "The provider's answer exceeded \(maximumBytes) bytes.")
            }
        }
        return body
    }

    /// Stops the transfer. Safe to call at any time, more than once.
    func cancel() {
        self.source.cancel()
    }
}
