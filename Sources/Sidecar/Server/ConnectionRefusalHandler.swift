//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import SidecarModel

/// The whole pipeline of a connection beyond `server.max_connections`: when the client's first
/// bytes arrive (so it is sending, and reads the answer) it gets 503 `too_many_connections` with
/// `Retry-After: 1`, and the connection is closed; a client that sends nothing is closed after
/// ``waitForFirstBytes`` (1 s: a client with a request sends it at once). Refused connections are
/// not counted, so this wait is what bounds them: at most the accept rate × 1 s are open at once.
final class ConnectionRefusalHandler: ChannelInboundHandler, RemovableChannelHandler {
    static let waitForFirstBytes: TimeAmount = .seconds(1)

    typealias InboundIn = ByteBuffer

    private var answered = false

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        context.eventLoop.scheduleTask(in: Self.waitForFirstBytes) { channel.close(promise: nil) }
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
