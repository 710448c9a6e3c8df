//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1
import Translate

/// An HTTP response: a complete body written at once, or a stream written by a closure.
struct ServerResponse: Sendable {
    enum Body: Sendable {
        /// Written with the head in one system call, with a `Content-Length`.
        case bytes(ByteBuffer)
        /// Written chunk by chunk (`Transfer-Encoding: chunked`), each chunk flushed at once.
        case stream(@Sendable (ResponseStreamWriter) async -> Void)
    }

    var status: HTTPResponseStatus
    /// Every value escaped by ``NIOHTTP1/HTTPHeaders/escapedForSending()``.
    let headers: HTTPHeaders
    var body: Body
    /// Released once the answer has been written (or the connection closed): the request's
    /// share of `server.max_buffered_bytes`, which covers the bytes waiting to be sent.
    var holding: CapacityClaim?

    init(status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: Body) {
        self.status = status
        self.headers = headers.escapedForSending()
        self.body = body
    }

    /// A JSON response with a complete body.
    static func json(_ object: JSONObject, status: HTTPResponseStatus = .ok, headers: HTTPHeaders = HTTPHeaders()) -> ServerResponse {
        var headers = headers
        if !headers.contains(name: "content-type") { headers.add(name: "Content-Type", value: "application/json") }
        return ServerResponse(status: status, headers: headers, body: .bytes(ByteBuffer(bytes: object.serialized())))
    }
}
