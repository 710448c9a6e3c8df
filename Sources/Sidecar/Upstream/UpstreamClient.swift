//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SidecarModel
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
    /// Time allowed until the first byte of the body (or the end of an empty answer); `nil`: no limit.
    var firstByteTimeout: Duration? = nil
    /// Longest silence allowed between two pieces of the body; `nil`: no limit.
    var idleTimeout: Duration? = nil
    /// An explicit proxy; `nil` lets libcurl read `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY`.
    var proxy: String?
    /// A PEM file of the certificate authorities to trust instead of the system's; `nil`: the system's.
    var caFile: String? = nil
}

/// The status line and headers of a provider's answer.
///
/// Headers from libcurl stay as the raw block they arrived in (`Name: value` lines); a lookup
/// scans it. A proxy reads two or three headers of an answer, so parsing every line into
/// strings would be wasted work on each request.
struct UpstreamResponseHead: Sendable {
    var status: Int
    private var rawBlock: [UInt8]

    init(status: Int, headers: [HTTPHeader]) {
        self.status = status
        self.rawBlock = Array(headers.map { "\($0.name): \($0.value)\n" }.joined().utf8)
    }

    /// - Parameter rawBlock: `Name: value` lines, each ending in `\n`.
    init(status: Int, rawBlock: [UInt8]) {
        self.status = status
        self.rawBlock = rawBlock
    }

    /// Every header, in order.
    var headers: [HTTPHeader] {
        self.rawBlock.split(separator: UInt8(ascii: "\n")).compactMap { line in
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            return HTTPHeader(String(decoding: line[..<colon], as: UTF8.self), String(String(decoding: line[(colon + 1)...], as: UTF8.self).trimmed))
        }
    }

    /// The first value of header `name`, compared case-insensitively. Scans the block in place:
    /// a lookup allocates only the value it returns.
    func header(_ name: String) -> String? {
        var start = self.rawBlock.startIndex
        while start < self.rawBlock.endIndex {
            let end = self.rawBlock[start...].firstIndex(of: UInt8(ascii: "\n")) ?? self.rawBlock.endIndex
            let line = self.rawBlock[start..<end]
            start = end + 1
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon - line.startIndex == name.utf8.count,
                zip(line[..<colon], name.utf8).allSatisfy({ Self.lowercased($0) == Self.lowercased($1) })
            else { continue }
            return String(String(decoding: line[(colon + 1)...], as: UTF8.self).trimmed)
        }
        return nil
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }
}

/// A provider's answer: the head, and the body still arriving.
struct UpstreamResponse: Sendable {
    var head: UpstreamResponseHead
    var body: UpstreamBody
}
