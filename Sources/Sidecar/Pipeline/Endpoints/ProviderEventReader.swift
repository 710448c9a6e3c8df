//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Translate

/// Reads a provider's event stream into server-sent events, at most
/// ``Pipeline/maximumResponseBytes`` (32 MiB) of it.
struct ProviderEventReader: Sendable {
    private var parser = SSEParser()
    private var received = 0

    /// The events completed by `bytes`.
    /// - Throws: 502 `upstream_response_too_large` past the limit; a stream that breaks SSE framing.
    mutating func feed(_ bytes: [UInt8]) throws(ProxyError) -> [SSEEvent] {
        self.received += bytes.count
        guard self.received <= Pipeline.maximumResponseBytes else {
            throw ProxyError(.upstreamResponseTooLarge, "The provider's stream exceeded \(Pipeline.maximumResponseBytes >> 20) MiB.")
        }
        do {
            return try self.parser.feed(bytes)
        } catch {
            throw ProxyError(error)
        }
    }

    /// The last event, when the body ended without its separator.
    mutating func finish() -> [SSEEvent] {
        self.parser.finish()
    }
}
