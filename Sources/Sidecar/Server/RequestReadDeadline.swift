//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1
import SidecarModel
import Synchronization
import Translate

/// Gives a client `server.request_read_timeout` (30 s) from the first byte of a request until
/// the whole request (headers and body) has arrived, so a slowloris client trickling bytes
/// cannot hold a connection: past the deadline it gets 408 in the OpenAI envelope and the
/// connection is closed.
///
/// It applies to every request of a connection, the first and the ones after it on keep-alive,
/// pipelined ones included. While an answer is being written the deadline pauses: the server
/// reads nothing then (NIO's pipelining handler holds reads back until the answer ended), so a
/// request pipelined behind a long stream gets its full time once that stream ended. Idle
/// keep-alive connections (no bytes) are `server.idle_timeout`'s business, and long answers are
/// not affected (the deadline stops when the request is complete).
///
/// Told by ``RequestReadDeadlineHandler`` (ahead of the HTTP decoder, where bytes arrive),
/// ``RequestEndObserver`` (behind the decoder, where a request's end is parsed) and
/// ``HTTPRequestHandler`` (when an answer starts and ends); all run on the connection's event loop.
final class RequestReadDeadline {
    private let timeout: TimeAmount
    /// Published for ``HTTPServer``'s connection cap: whether the connection is idle.
    let activity: ConnectionActivity
    private var timer: Scheduled<Void>?
    /// Bytes of a request arrived and the decoder has not yet parsed its end.
    private var requestOpen = false
    /// An answer is being written.
    private var answering = false
    /// The front handler's context: the 408 is written below the HTTP encoder (the decoder is mid-request).
    private weak var front: ChannelHandlerContext?

    init(timeout: TimeAmount, activity: ConnectionActivity = ConnectionActivity()) {
        self.timeout = timeout
        self.activity = activity
    }

    /// Whether the deadline is running.
    var isRunning: Bool { self.timer != nil }

    func bytesArrived(context: ChannelHandlerContext) {
        self.front = context
        self.requestOpen = true
        self.update()
    }

    /// The decoder parsed a request's head (it may follow another request's end in one read).
    func requestStarted() {
        self.requestOpen = true
        self.update()
    }

    func requestEnded() {
        self.requestOpen = false
        self.update()
    }

    func answerStarted() {
        self.answering = true
        self.update()
    }

    func answerEnded() {
        self.answering = false
        self.update()
    }

    /// Runs the timer exactly while a request is open and no answer is being written.
    private func update() {
        self.activity.update(idle: !self.requestOpen && !self.answering)
        guard self.requestOpen, !self.answering, let context = self.front else {
            self.timer?.cancel()
            self.timer = nil
            return
        }
        guard self.timer == nil else { return }
        let front = NIOLoopBound(context, eventLoop: context.eventLoop)
        self.timer = context.eventLoop.scheduleTask(in: self.timeout) {
            let context = front.value
            let response = ProxyError(.requestTimeout, "The request did not arrive completely in time.")
                .closingResponse(allocator: context.channel.allocator)
            context.writeAndFlush(NIOAny(response)).whenComplete { _ in front.value.close(promise: nil) }
        }
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

/// Tells the ``RequestReadDeadline`` when the decoder parsed a request's head and end; sits between the
/// HTTP decoder and NIO's pipelining handler, so it sees a pipelined request as it arrives, not
/// when it is handed on. Bytes after that end which do not yet form a complete head are not
/// seen here: if the client then goes silent, `server.idle_timeout` closes the connection.
final class RequestEndObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let deadline: RequestReadDeadline

    init(_ deadline: RequestReadDeadline) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head: self.deadline.requestStarted()
        case .body: break
        case .end: self.deadline.requestEnded()
        }
        context.fireChannelRead(data)
    }
}

/// Whether a connection is idle — no byte of a request pending and no answer being written — and
/// since when, so that a new connection beyond `server.max_connections` can take the place of
/// the one idle the longest. Written on the connection's event loop, read by the accepting thread.
final class ConnectionActivity: Sendable {
    /// `NIODeadline.now()` in nanoseconds when the connection last became idle; -1 while busy.
    private let idleSince = Atomic(NIODeadline.now().uptimeNanoseconds.clamped)

    /// When the connection became idle; `nil` while it is busy.
    var idleSinceNanoseconds: Int? {
        let since = self.idleSince.load(ordering: .relaxed)
        return since < 0 ? nil : since
    }

    func update(idle: Bool) {
        guard idle else { return self.idleSince.store(-1, ordering: .relaxed) }
        if self.idleSince.load(ordering: .relaxed) < 0 {
            self.idleSince.store(NIODeadline.now().uptimeNanoseconds.clamped, ordering: .relaxed)
        }
    }
}

extension UInt64 {
    fileprivate var clamped: Int { Int(clamping: self) }
}
