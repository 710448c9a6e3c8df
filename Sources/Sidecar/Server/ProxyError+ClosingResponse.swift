//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1
import SidecarModel
import Translate

extension ProxyError {
    /// This error as a complete HTTP/1.1 response in raw bytes, with `Connection: close`: for
    /// answers written below the HTTP codec (a request still arriving, a refused connection).
    func closingResponse(allocator: ByteBufferAllocator) -> ByteBuffer {
        let body = self.openAIBody.json.serialized()
        let status = HTTPResponseStatus(statusCode: self.status)
        var head = "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nContent-Type: application/json\r\n"
        if let retryAfter = self.retryAfterHeader { head += "Retry-After: \(retryAfter)\r\n" }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        var buffer = allocator.buffer(capacity: head.utf8.count + body.count)
        buffer.writeString(head)
        buffer.writeBytes(body)
        return buffer
    }
}
