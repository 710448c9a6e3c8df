//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import Synchronization

/// Commands written as one batch, and the promise of their replies.
struct RedisRequest: Sendable {
    /// The encoded commands, written in one write.
    var commands: ByteBuffer
    /// How many replies complete the request (one per command).
    var replyCount: Int
    /// How long the replies may take, from the write, before the connection is given up.
    var timeout: TimeAmount
    var promise: EventLoopPromise<[RESPValue]>
    /// For the login sent on connect: the command names (`AUTH`, `SELECT`); an error reply to any of
    /// them closes the connection.
    var login: [String]? = nil
}

/// Why a connection failed, kept for the writes that reach the channel only after it closed (and so
/// never reach the handler): they fail with the cause, not with a bare "closed".
final class RedisConnectionFailure: Sendable {
    private let error = Mutex<RedisError?>(nil)

    var value: RedisError? { self.error.withLock { $0 } }

    func record(_ error: RedisError) {
        self.error.withLock { $0 = $0 ?? error }
    }
}

/// Matches replies to requests on one connection: a FIFO of the requests written, in the order their
/// bytes went out, and the server answers in that order.
///
/// A request whose replies have not all arrived `timeout` after its write fails the connection with
/// `store_timeout`; a lost connection, an I/O error, an invalid reply or a reply nobody asked for fail
/// it with `store_unavailable`. Failing the connection fails every request waiting on it with that
/// error (a pipeline cannot be resynchronised: the next reply's owner is unknown), fails every later
/// write at once, and closes the channel. Confined to the channel's event loop.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var request: RedisRequest
        var timer: Scheduled<Void>
        var number: UInt64
    }

    /// "host:port", for messages.
    private let store: String
    private let failed: RedisConnectionFailure
    private var pending = CircularBuffer<Pending>()
    /// The replies received so far for the first pending request.
    private var replies: [RESPValue] = []
    private var written: UInt64 = 0
    private var failure: RedisError?

    init(store: String, failed: RedisConnectionFailure) {
        self.store = store
        self.failed = failed
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = Self.unwrapOutboundIn(data)
        if let failure = self.failure {
            request.promise.fail(failure)
            promise?.fail(failure)
            return
        }
        self.written += 1
        let number = self.written
        let timer = context.eventLoop.assumeIsolated().scheduleTask(in: request.timeout) {
            self.timedOut(number, timeout: request.timeout, context: context)
        }
        self.pending.append(Pending(request: request, timer: timer, number: number))
        context.write(Self.wrapOutboundOut(request.commands), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let first = self.pending.first else {
            return self.fail(.unavailable("the store at \(self.store) sent a reply to no request"), context: context)
        }
        self.replies.append(Self.unwrapInboundIn(data))
        guard self.replies.count == first.request.replyCount else { return }
        self.pending.removeFirst()
        first.timer.cancel()
        let replies = self.replies
        self.replies = []
        if let login = first.request.login, let refusal = zip(login, replies).first(where: { $0.1.errorMessage != nil }) {
            // Only the server's error code: nothing of the command (which holds the password).
            let code = refusal.1.errorMessage?.split(separator: " ").first ?? ""
            let error = RedisError.unavailable("the store at \(self.store) refused \(refusal.0): \(code)")
            self.fail(error, context: context)
            return first.request.promise.fail(error)
        }
        first.request.promise.succeed(replies)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let message = (error as? RedisError)?.message ?? "\(error)"
        self.fail(.unavailable("connection to the store at \(self.store) failed: \(message)"), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.fail(.unavailable("connection to the store at \(self.store) closed"), context: context)
        context.fireChannelInactive()
    }

    private func timedOut(_ number: UInt64, timeout: TimeAmount, context: ChannelHandlerContext) {
        guard let first = self.pending.first, first.number <= number else { return }
        let milliseconds = timeout.nanoseconds / 1_000_000
        self.fail(.timeout("no reply from the store at \(self.store) within \(milliseconds) ms"), context: context)
    }

    /// Fails every waiting request with `error` (once: the first failure is the cause) and closes.
    private func fail(_ error: RedisError, context: ChannelHandlerContext) {
        guard self.failure == nil else { return }
        self.failure = error
        self.failed.record(error)
        let waiting = self.pending
        self.pending.removeAll()
        self.replies = []
        for entry in waiting {
            entry.timer.cancel()
            entry.request.promise.fail(error)
        }
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension RedisChannelHandler: Sendable {}
