//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1
import SidecarModel

/// A complete HTTP request: head and whole body (at most `server.max_request_body` bytes).
struct ServerRequest: Sendable {
    var method: HTTPMethod
    /// The path without the query string (`/v1/chat/completions`).
    var path: String
    /// The query string without `?`, if any.
    var query: String?
    var headers: HTTPHeaders
    var body: ByteBuffer
    /// Why the body was not kept, if it was not: over `server.max_request_body` (413) or over
    /// `server.max_buffered_bytes` (503). A route that reads the body answers with it.
    var bodyRefusal: ProxyError?

    init(head: HTTPRequestHead, body: ByteBuffer, bodyRefusal: ProxyError? = nil) {
        self.bodyRefusal = bodyRefusal
        self.method = head.method
        let uri = head.uri
        if let mark = uri.firstIndex(of: "?") {
            self.path = String(uri[..<mark])
            self.query = String(uri[uri.index(after: mark)...])
        } else {
            self.path = uri
            self.query = nil
        }
        self.headers = head.headers
        self.body = body
    }

    /// The first value of header `name` (case-insensitive).
    func header(_ name: String) -> String? {
        self.headers.first(name: name)
    }
}
