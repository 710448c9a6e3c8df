//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore

/// The whole pipeline of a connection beyond `server.max_connections`: when the client's first
/// bytes arrive (so it is sending, and reads the answer) it gets 503 `too_many_connections` with
/// `Retry-After: 1`, and the connection is closed; a client that sends nothing is closed after
/// `timeout` (`server.request_read_timeout`).
final class ConnectionRefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let timeout: TimeAmount
    private var answered = false

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        context.eventLoop.scheduleTask(in: self.timeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.answered else { return }
        self.answered = true
        var error = ProxyError(.tooManyConnections, "The sidecar has its maximum of client connections open; retry shortly.")
        error.retryAfter = .seconds(1)
        let channel = context.channel
        context.writeAndFlush(NIOAny(error.closingResponse(allocator: context.channel.allocator))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
