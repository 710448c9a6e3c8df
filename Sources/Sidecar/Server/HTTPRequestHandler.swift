//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1

/// Reads one request at a time, collects its body, runs the responder in a task and writes
/// its answer.
///
/// NIO's pipelining helper (`HTTPServerPipelineHandler`, ahead of this handler) holds back a
/// pipelined request until the previous response ended, so at most one request per connection
/// is in flight. The whole per-request path stays on the channel's event loop — which is also
/// where Swift concurrency runs — so a request costs one task and no thread hop. When the
/// client disconnects, the request's task is cancelled, which cancels its upstream transfer.
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    typealias Responder = @Sendable (ServerRequest) async -> ServerResponse

    private enum State {
        /// Waiting for a request. Valid transitions: receiving, discarding.
        case idle
        /// Collecting the body. Valid transitions: responding, discarding.
        case receiving(HTTPRequestHead, ByteBuffer)
        /// The body exceeds the limit: its bytes are read and dropped, and the request is
        /// answered with 413 once it ended — answering earlier and closing would make the
        /// kernel reset the connection under the client before it reads the answer.
        /// Valid transitions: responding.
        case discarding(HTTPRequestHead, dropped: Int)
        /// The responder runs. Valid transitions: receiving or discarding (the next request).
        case responding(Task<Void, Never>)
    }

    /// A body this much larger than the limit is not read to its end: the request is
    /// answered and the connection closed (4 × the limit, at least 64 MiB).
    private var discardLimit: Int { max(self.limit * 4, 64 << 20) }

    private let responder: Responder
    private let maximumBodyBytes: @Sendable () -> Int
    private let deadline: RequestReadDeadline
    private var limit = 0
    /// The drain deadline passed: a stream whose relay starts after it is cancelled at once.
    private var drainDeadlinePassed = false
    private var state = State.idle

    /// - Parameter maximumBodyBytes: read for each request, so a configuration reload applies.
    init(maximumBodyBytes: @escaping @Sendable () -> Int, deadline: RequestReadDeadline, responder: @escaping Responder) {
        self.maximumBodyBytes = maximumBodyBytes
        self.deadline = deadline
        self.responder = responder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (self.unwrapInboundIn(data), self.state) {
        case (.head(let head), .idle), (.head(let head), .responding):
            self.begin(head, context: context)
        case (.body(var chunk), .receiving(let head, var body)):
            self.state = .idle  // lets `body` be mutated without a copy
            if body.readableBytes + chunk.readableBytes > self.limit {
                self.state = .discarding(head, dropped: body.readableBytes + chunk.readableBytes)
            } else {
                body.writeBuffer(&chunk)
                self.state = .receiving(head, body)
            }
        case (.body(let chunk), .discarding(let head, let dropped)):
            let total = dropped + chunk.readableBytes
            if total > self.discardLimit {
                self.dispatch(
                    ServerRequest(head: head, body: ByteBuffer(), bodyTooLarge: true),
                    version: head.version,
                    keepAlive: false,
                    context: context
                )
            } else {
                self.state = .discarding(head, dropped: total)
            }
        case (.end, .receiving(let head, let body)):
            self.dispatch(ServerRequest(head: head, body: body), version: head.version, keepAlive: head.isKeepAlive, context: context)
        case (.end, .discarding(let head, _)):
            self.dispatch(
                ServerRequest(head: head, body: ByteBuffer(), bodyTooLarge: true),
                version: head.version,
                keepAlive: head.isKeepAlive,
                context: context
            )
        default:
            break  // the rest of a body past the discard limit
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .responding(let task) = self.state { task.cancel() }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, case .idle = self.state {
            context.close(promise: nil)
            return
        }
        if event is DrainDeadlineEvent {
            self.drainDeadlinePassed = true
            if case .responding(let task) = self.state { task.cancel() }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func begin(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        self.limit = self.maximumBodyBytes()
        let declared = head.headers.first(name: "content-length").flatMap(Int.init)
        if let declared, declared > self.limit {
            self.state = .discarding(head, dropped: 0)
            return
        }
        if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
            context.writeAndFlush(self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
        self.state = .receiving(head, context.channel.allocator.buffer(capacity: min(declared ?? 1024, self.limit)))
    }

    /// A `CONNECT` request is answered (405 on passthrough) and its connection closed: NIO writes
    /// the answer to a `CONNECT` without framing and reads what follows as tunnel bytes, so the
    /// connection could not serve another request.
    private func dispatch(_ request: ServerRequest, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext) {
        let keepAlive = keepAlive && request.method != .CONNECT
        let responder = self.responder
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        self.deadline.requestComplete()
        let task = Task(executorPreference: EventLoopTaskExecutor.executor(for: context.eventLoop)) {
            let response = await responder(request)
            if case .stream = response.body {
                handler.eventLoop.execute { handler.value.relay(response, version: version, keepAlive: keepAlive, to: channel) }
            } else {
                await ServerResponseWriting.write(response, version: version, keepAlive: keepAlive, to: channel)
                handler.eventLoop.execute { handler.value.deadline.answerEnded() }
            }
        }
        self.state = .responding(task)
    }

    /// Writes a streamed answer from a task of its own, so that the task that routed and
    /// translated the request ends and returns its task-local stack: a task keeps the largest
    /// stack it ever used until it ends, about 40 KB here, which would otherwise stay with every
    /// stream for its whole life. A client that already left gets a cancelled relay, which still
    /// ends the upstream transfer and writes the usage line; so does one whose drain deadline passed.
    private func relay(_ response: ServerResponse, version: HTTPVersion, keepAlive: Bool, to channel: any Channel) {
        let deadline = NIOLoopBound(self.deadline, eventLoop: channel.eventLoop)
        let task = Task(executorPreference: EventLoopTaskExecutor.executor(for: channel.eventLoop)) {
            await ServerResponseWriting.write(response, version: version, keepAlive: keepAlive, to: channel)
            deadline.eventLoop.execute { deadline.value.answerEnded() }
        }
        if !channel.isActive || self.drainDeadlinePassed { task.cancel() }
        self.state = .responding(task)
    }
}

/// Sent to every connection still open when the drain deadline passes at shutdown: the
/// request in progress is cancelled and ends with a `shutting_down` error.
struct DrainDeadlineEvent {}

/// Writes a ``ServerResponse`` to a channel.
enum ServerResponseWriting {
    static func write(_ response: ServerResponse, version: HTTPVersion, keepAlive: Bool, to channel: any Channel) async {
        var head = HTTPResponseHead(version: version, status: response.status, headers: response.headers)
        if !keepAlive { head.headers.replaceOrAdd(name: "Connection", value: "close") }
        let ended: EventLoopFuture<Void>
        switch response.body {
        case .bytes(let buffer):
            head.headers.replaceOrAdd(name: "Content-Length", value: String(buffer.readableBytes))
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            channel.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
            ended = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        case .stream(let produce):
            // Not flushed: the head leaves with the first body chunk, in one system call.
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            await produce(ResponseStreamWriter(channel: channel))
            ended = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        }
        if !keepAlive {
            ended.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
