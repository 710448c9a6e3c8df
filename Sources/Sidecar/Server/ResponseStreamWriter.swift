//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1

/// Writes a streamed response body to the client, flushing each chunk as it is written.
///
/// Writing never buffers without bound: while the client's socket is full (the channel is not
/// writable) a write waits until its bytes are handed to the kernel.
struct ResponseStreamWriter: Sendable {
    /// The client has gone away (the connection closed).
    ///
    /// A cancelled task may still write: the server cancels a request's task when the drain
    /// deadline passes at shutdown, and the stream then ends with an error event.
    struct ClientGone: Error {}

    let channel: any Channel

    func write(_ bytes: [UInt8]) async throws(ClientGone) {
        guard self.channel.isActive else { throw ClientGone() }
        let part = HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: bytes)))
        if self.channel.isWritable {
            self.channel.writeAndFlush(part, promise: nil)
            return
        }
        do {
            try await self.channel.writeAndFlush(part).get()
        } catch {
            throw ClientGone()
        }
    }
}
