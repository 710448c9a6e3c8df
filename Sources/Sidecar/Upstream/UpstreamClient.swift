//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import Translate

/// Sends one HTTP request to a provider and returns the answer's head as soon as it arrives;
/// the body follows through ``UpstreamResponse/body``.
///
/// The production implementation is ``CurlUpstreamClient``; the built-in demo model and tests
/// use in-memory implementations.
protocol UpstreamClient: Sendable {
    func execute(_ request: UpstreamRequest, logger: Logger) async throws(ProxyError) -> UpstreamResponse
}

/// A fully addressed provider request: URL, headers with the key injected, body and limits.
struct UpstreamRequest: Sendable {
    var method: String
    var url: String
    var headers: [HTTPHeader]
    var body: [UInt8]
    /// Time allowed to connect (TCP and TLS).
    var connectTimeout: Duration
    /// Time allowed for the whole exchange, body included.
    var timeout: Duration
    /// An explicit proxy; `nil` lets libcurl read `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY`.
    var proxy: String?
}

/// The status line and headers of a provider's answer.
struct UpstreamResponseHead: Sendable, Hashable {
    var status: Int
    var headers: [HTTPHeader]

    /// The first value of header `name`, compared case-insensitively.
    func header(_ name: String) -> String? {
        self.headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

/// A provider's answer: the head, and the body still arriving.
struct UpstreamResponse: Sendable {
    var head: UpstreamResponseHead
    var body: UpstreamBody
}
