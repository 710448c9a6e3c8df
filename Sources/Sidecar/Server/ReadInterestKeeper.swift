//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1

/// Keeps a connection's read interest registered while its answer is being produced.
///
/// NIO's pipelining helper (`HTTPServerPipelineHandler`) withholds `read()` from the moment a
/// request has been read until its response ended, so that a pipelining client cannot make the
/// server buffer requests without bound. NIO then drops the socket's read interest and registers
/// it again after the response: two `epoll_ctl` calls per request, paid by every client although
/// no SDK pipelines. This handler sits on the socket's side of the helper and asks for the next
/// read itself while at most one request is outstanding, so the interest stays registered.
///
/// A pipelining client — a second request head before the first response ended — stops it
/// asking, and the helper's bound applies as before: what one read cycle brought in (NIO reads
/// at most 4 buffers of up to 64 KiB per wake-up). A client that closes while its answer is still
/// being produced is seen at once, as before (`EPOLLRDHUP` is registered either way).
final class ReadInterestKeeper: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Request heads read minus responses ended.
    private(set) var outstanding = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = self.unwrapInboundIn(data) { self.outstanding += 1 }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
        if self.outstanding <= 1, context.channel.isActive { context.read() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = self.unwrapOutboundIn(data) { self.outstanding = max(0, self.outstanding - 1) }
        context.write(data, promise: promise)
    }
}
