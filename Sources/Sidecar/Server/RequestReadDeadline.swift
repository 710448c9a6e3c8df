//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1
import Translate

/// Gives a client `server.request_read_timeout` (30 s) from the first byte of a request until
/// the whole request (headers and body) has arrived, so a slowloris client trickling bytes
/// cannot hold a connection: past the deadline it gets 408 in the OpenAI envelope and the
/// connection is closed. Idle keep-alive connections are not affected (no bytes, no deadline),
/// nor are long answers (the deadline stops when the request is complete).
///
/// Shared by ``RequestReadDeadlineHandler`` (ahead of the HTTP decoder, where bytes arrive) and
/// ``HTTPRequestHandler`` (which knows when a request is complete and its answer ended); both
/// run on the connection's event loop.
final class RequestReadDeadline {
    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// A complete request is being answered: arriving bytes (a pipelined request) wait for it.
    private var answering = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    /// Starts the deadline when a request's first bytes arrive. `context` is the front
    /// handler's, so the 408 is written below the HTTP encoder (the decoder is mid-request).
    func bytesArrived(context: ChannelHandlerContext) {
        guard !self.answering, self.timer == nil else { return }
        let front = NIOLoopBound(context, eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(in: self.timeout) {
            let context = front.value
            let response = NIOAny(Self.timeoutResponse(allocator: context.channel.allocator))
            context.writeAndFlush(response).whenComplete { _ in front.value.close(promise: nil) }
        }
    }

    func requestComplete() {
        self.timer?.cancel()
        self.timer = nil
        self.answering = true
    }

    func answerEnded() {
        self.answering = false
    }

    /// 408 as raw bytes.
    private static func timeoutResponse(allocator: ByteBufferAllocator) -> ByteBuffer {
        let body = ProxyError(.requestTimeout, "The request did not arrive completely in time.").openAIBody.json.serialized()
        var buffer = allocator.buffer(capacity: 256)
        buffer.writeString(
            "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        )
        buffer.writeBytes(body)
        return buffer
    }
}

/// Tells the ``RequestReadDeadline`` when bytes arrive; sits first in the pipeline.
final class RequestReadDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let deadline: RequestReadDeadline

    init(_ deadline: RequestReadDeadline) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.deadline.bytesArrived(context: context)
        context.fireChannelRead(data)
    }
}
