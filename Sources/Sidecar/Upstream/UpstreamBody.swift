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
    ///
    /// A body whose length the provider declared (`declaredLength`, its `Content-Length`) is
    /// reserved whole before the first byte is read, so in a burst of large answers the first
    /// ones to arrive are kept and the rest refused at once — reserved piece by piece, every
    /// answer in the burst would hold a slice and none would fit. Bytes beyond the declared
    /// length (a decoded `Content-Encoding`) are reserved as they arrive.
    /// - Throws: ``ProxyError/Code/upstreamResponseTooLarge`` past `maximumBytes`, and
    ///   ``ProxyError/Code/bufferBudgetExhausted`` when the budget is spent (both cancel the transfer).
    func collect(upTo maximumBytes: Int, budget: BufferBudget? = nil, declaredLength: Int? = nil) async throws(ProxyError) -> [UInt8] {
        var reserved = 0
        var body: [UInt8] = []
        do {
            if let declaredLength, declaredLength > 0 {
                try Self.check(declaredLength, within: maximumBytes)
                try budget?.reserve(declaredLength)
                reserved = declaredLength
                body.reserveCapacity(declaredLength)
            }
            while let piece = try await self.next() {
                let beyond = body.count + piece.count - reserved
                if beyond > 0 {
                    try budget?.reserve(beyond)
                    reserved += beyond
                }
                if body.capacity == 0 { body = piece } else { body.append(contentsOf: piece) }
                try Self.check(body.count, within: maximumBytes)
            }
        } catch {
            self.cancel()
            throw error
        }
        return body
    }

    private static func check(_ count: Int, within maximumBytes: Int) throws(ProxyError) {
        guard count <= maximumBytes else {
            throw ProxyError(.upstreamResponseTooLarge, "The provider's answer exceeded \(maximumBytes) bytes.")
        }
    }

    /// Stops the transfer. Safe to call at any time, more than once.
    func cancel() {
        self.source.cancel()
    }
}
