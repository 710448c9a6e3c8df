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

/// Reads one request at a time, collects its body, runs the responder in a task and writes
/// its answer.
///
/// NIO's pipelining helper (`HTTPServerPipelineHandler`, ahead of this handler) holds back a
/// pipelined request until the previous response ended, so at most one request per connection
/// is in flight. The whole per-request path stays on the channel's event loop — which is also
/// where Swift concurrency runs — so a request costs one task and no thread hop. When the
/// client disconnects, the request's task is cancelled, which cancels its upstream transfer.
///
/// Request bodies: at most `server.max_request_body` each (413 beyond), and their bytes are
/// reserved in `server.max_buffered_bytes` as they arrive (503 `buffer_budget_exhausted` when it
/// is spent). A `Content-Length` that is not one non-negative number gets 400 and the connection
/// is closed (its framing is unknowable); one over the limit gets 413 at once when the client
/// waits for `100 Continue` or the body is beyond what would be read and dropped (then the
/// connection is closed), else after the body was read and dropped.
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    typealias Responder = @Sendable (ServerRequest) async -> ServerResponse

    private enum State {
        /// No request in flight: the connection is idle and closes on an idle event.
        /// Valid transitions: receiving, discarding, responding (a refusal at the head).
        case idle
        /// Collecting the body. Valid transitions: responding, discarding.
        case receiving(HTTPRequestHead, ByteBuffer)
        /// The body is refused (too large, or over the buffered-bytes budget): its bytes are read
        /// and dropped, and the request is answered with `refusal` once it ended — answering
        /// earlier and closing would make the kernel reset the connection under the client
        /// before it reads the answer. Valid transitions: responding.
        case discarding(HTTPRequestHead, refusal: ProxyError, dropped: Int)
        /// The responder runs or its answer is being written. Valid transitions: idle (the
        /// answer ended), receiving or discarding (a pipelined request, handed on when the
        /// answer's end was written).
        case responding(Task<Void, Never>)
    }

    /// A body this much larger than the limit is not read to its end: the request is
    /// answered and the connection closed (4 × the limit, at least 64 MiB).
    private var discardLimit: Int { max(self.limit * 4, 64 << 20) }

    private let responder: Responder
    private let maximumBodyBytes: @Sendable () -> Int
    private let requestBudget: (@Sendable () -> BufferBudget)?
    private let headRefusal: (@Sendable (HTTPRequestHead) -> ProxyError?)?
    private let deadline: RequestReadDeadline
    private var limit = 0
    /// The current request body's share of `server.max_buffered_bytes`.
    private var budget: BufferBudget?
    /// Counts answers, so the end of one is not taken for the end of a later one.
    private var answers = 0
    /// The drain deadline passed: a stream whose relay starts after it is cancelled at once.
    private var drainDeadlinePassed = false
    private var state = State.idle

    /// - Parameters:
    ///   - maximumBodyBytes: read for each request, so a configuration reload applies.
    ///   - requestBudget: a fresh share of `server.max_buffered_bytes` for each request body; `nil`: unbudgeted.
    ///   - headRefusal: why a request is refused at its head (an invalid client token): its body
    ///     is read and dropped unbudgeted, so unauthenticated bodies cannot spend the budget.
    init(
        maximumBodyBytes: @escaping @Sendable () -> Int,
        requestBudget: (@Sendable () -> BufferBudget)? = nil,
        headRefusal: (@Sendable (HTTPRequestHead) -> ProxyError?)? = nil,
        deadline: RequestReadDeadline,
        responder: @escaping Responder
    ) {
        self.maximumBodyBytes = maximumBodyBytes
        self.requestBudget = requestBudget
        self.headRefusal = headRefusal
        self.deadline = deadline
        self.responder = responder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (self.unwrapInboundIn(data), self.state) {
        case (.head(let head), .idle), (.head(let head), .responding):
            self.begin(head, context: context)
        case (.body(var chunk), .receiving(let head, var body)):
            self.state = .idle  // lets `body` be mutated without a copy
            if let refusal = self.refusal(adding: chunk.readableBytes, to: body.readableBytes) {
                self.state = .discarding(head, refusal: refusal, dropped: body.readableBytes + chunk.readableBytes)
            } else {
                body.writeBuffer(&chunk)
                self.state = .receiving(head, body)
            }
        case (.body(let chunk), .discarding(let head, let refusal, let dropped)):
            let total = dropped + chunk.readableBytes
            if total > self.discardLimit {
                self.refuse(head, refusal, keepAlive: false, context: context)
            } else {
                self.state = .discarding(head, refusal: refusal, dropped: total)
            }
        case (.end, .receiving(let head, let body)):
            self.dispatch(ServerRequest(head: head, body: body), version: head.version, keepAlive: head.isKeepAlive, context: context)
        case (.end, .discarding(let head, let refusal, _)):
            self.refuse(head, refusal, keepAlive: head.isKeepAlive, context: context)
        default:
            break  // the rest of a body past the discard limit, or of a body refused at its head
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .responding(let task) = self.state { task.cancel() }
        context.fireChannelInactive()
    }

    /// `server.idle_timeout` passed without a byte read or written: an idle connection is closed,
    /// and so is one whose client took no byte of its answer for that long (the answer waits
    /// on a full socket: the channel is not writable), which would otherwise hold its stream
    /// slot, its buffered bytes and its upstream transfer for as long as the client likes.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            switch self.state {
            case .idle:
                context.close(promise: nil)
                return
            case .responding where !context.channel.isWritable:
                context.close(promise: nil)
                return
            default:
                break
            }
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
        self.budget = self.requestBudget?()
        guard let declared = DeclaredLength(head.headers) else {
            let error = ProxyError(.invalidRequest, "The Content-Length header must be one non-negative number.", param: "Content-Length")
            self.dispatch(
                ServerRequest(head: head, body: ByteBuffer()),
                version: head.version,
                keepAlive: false,
                context: context,
                answer: ServerResponse.json(error.openAIBody.json, status: HTTPResponseStatus(statusCode: error.status))
            )
            return
        }
        let expectsContinue = head.headers.first(name: "expect")?.lowercased() == "100-continue"
        if let bytes = declared.bytes, bytes > self.limit {
            // Not worth reading: the client waits for 100 Continue, or the body is beyond what
            // would be read and dropped anyway.
            if expectsContinue || bytes > self.discardLimit {
                self.refuse(head, self.tooLarge, keepAlive: false, context: context)
            } else {
                self.state = .discarding(head, refusal: self.tooLarge, dropped: 0)
            }
            return
        }
        if let refusal = self.headRefusal?(head) {
            // Answered through the responder, which refuses the request itself where it must.
            if expectsContinue {
                self.refuse(head, refusal, keepAlive: false, context: context)
            } else {
                self.state = .discarding(head, refusal: refusal, dropped: 0)
            }
            return
        }
        if expectsContinue {
            context.writeAndFlush(self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
        self.state = .receiving(head, context.channel.allocator.buffer(capacity: min(declared.bytes ?? 1024, self.limit)))
    }

    private var tooLarge: ProxyError {
        ProxyError(.requestTooLarge, "The request body exceeds the limit of \(self.limit) bytes (server.max_request_body).")
    }

    /// Why `count` more body bytes cannot be kept after `received`, if they cannot; else they
    /// are reserved in the budget.
    private func refusal(adding count: Int, to received: Int) -> ProxyError? {
        guard received + count <= self.limit else { return self.tooLarge }
        do {
            try self.budget?.reserve(count)
            return nil
        } catch {
            return error
        }
    }

    /// Answers `refusal` through the responder (so it is recorded like any request).
    private func refuse(_ head: HTTPRequestHead, _ refusal: ProxyError, keepAlive: Bool, context: ChannelHandlerContext) {
        self.dispatch(
            ServerRequest(head: head, body: ByteBuffer(), bodyRefusal: refusal),
            version: head.version,
            keepAlive: keepAlive,
            context: context
        )
    }

    /// Runs the responder (or writes `answer`) and the answer, in a task. A `CONNECT` request is
    /// answered (405 on passthrough) and its connection closed: NIO writes the answer to a
    /// `CONNECT` without framing and reads what follows as tunnel bytes, so the connection could
    /// not serve another request.
    private func dispatch(
        _ request: ServerRequest,
        version: HTTPVersion,
        keepAlive: Bool,
        context: ChannelHandlerContext,
        answer: ServerResponse? = nil
    ) {
        let keepAlive = keepAlive && request.method != .CONNECT
        let responder = self.responder
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let channel = context.channel
        let budget = self.budget
        self.budget = nil
        self.answers += 1
        let number = self.answers
        self.deadline.answerStarted()
        let task = Task(executorPreference: EventLoopTaskExecutor.executor(for: context.eventLoop)) {
            let response = if let answer { answer } else { await responder(request) }
            budget?.claim.release()  // the body has been used
            if case .stream = response.body {
                handler.eventLoop.execute { handler.value.relay(response, number: number, version: version, keepAlive: keepAlive, to: channel) }
            } else {
                await ServerResponseWriting.write(
                    response,
                    version: version,
                    keepAlive: keepAlive,
                    withoutBody: request.method == .HEAD,
                    to: channel
                )
                handler.eventLoop.execute { handler.value.answerEnded(number) }
            }
        }
        self.state = .responding(task)
    }

    /// Writes a streamed answer from a task of its own, so that the task that routed and
    /// translated the request ends and returns its task-local stack: a task keeps the largest
    /// stack it ever used until it ends, about 40 KB here, which would otherwise stay with every
    /// stream for its whole life. A client that already left gets a cancelled relay, which still
    /// ends the upstream transfer and writes the usage line; so does one whose drain deadline passed.
    private func relay(_ response: ServerResponse, number: Int, version: HTTPVersion, keepAlive: Bool, to channel: any Channel) {
        let handler = NIOLoopBound(self, eventLoop: channel.eventLoop)
        let task = Task(executorPreference: EventLoopTaskExecutor.executor(for: channel.eventLoop)) {
            await ServerResponseWriting.write(response, version: version, keepAlive: keepAlive, to: channel)
            handler.eventLoop.execute { handler.value.answerEnded(number) }
        }
        if !channel.isActive || self.drainDeadlinePassed { task.cancel() }
        self.state = .responding(task)
    }

    /// Answer `number` was written. Unless a later request began meanwhile (a pipelined one is
    /// handed on as soon as the answer's end is written), the connection is idle again.
    private func answerEnded(_ number: Int) {
        guard number == self.answers else { return }
        self.deadline.answerEnded()
        if case .responding = self.state { self.state = .idle }
    }
}

/// Sent to every connection still open when the drain deadline passes at shutdown: the
/// request in progress is cancelled and ends with a `shutting_down` error.
struct DrainDeadlineEvent {}

/// Writes a ``ServerResponse`` to a channel.
enum ServerResponseWriting {
    /// - Parameter withoutBody: the answer to a `HEAD`: the head says what a `GET` would get
    ///   (`Content-Length` included), and no byte of the body is written.
    static func write(
        _ response: ServerResponse,
        version: HTTPVersion,
        keepAlive: Bool,
        withoutBody: Bool = false,
        to channel: any Channel
    ) async {
        var head = HTTPResponseHead(version: version, status: response.status, headers: response.headers)
        if !keepAlive { head.headers.replaceOrAdd(name: "Connection", value: "close") }
        let ended: EventLoopFuture<Void>
        switch response.body {
        case .bytes(let buffer):
            head.headers.replaceOrAdd(name: "Content-Length", value: String(buffer.readableBytes))
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            if !withoutBody { channel.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil) }
            ended = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        case .stream(let produce):
            // Not flushed: the head leaves with the first body chunk, in one system call.
            channel.write(HTTPServerResponsePart.head(head), promise: nil)
            await produce(ResponseStreamWriter(channel: channel))
            ended = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        }
        if let holding = response.holding {
            ended.whenComplete { _ in holding.release() }
        }
        if !keepAlive {
            ended.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
