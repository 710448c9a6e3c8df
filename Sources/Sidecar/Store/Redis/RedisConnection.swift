//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOPosix

/// One TCP connection to the store: a channel with ``RESPDecoder`` and ``RedisChannelHandler``, behind
/// a ``TLSClientHandler`` for `rediss://`.
///
/// Any number of callers may ``send(_:replies:)`` at once: each request's commands go out in one write
/// and its replies come back in order, matched by the handler's FIFO. The login (`AUTH`, `SELECT`) is
/// written as soon as the connection is up and is not waited for: it is pipelined ahead of the first
/// commands, so logging in costs no round trip of its own; if it is refused, the connection fails and
/// so do the commands behind it.
final class RedisConnection: Sendable {
    let channel: any Channel
    /// "host:port", for messages.
    private let store: String
    private let timeout: TimeAmount
    private let failed: RedisConnectionFailure

    private init(channel: any Channel, store: String, timeout: TimeAmount, failed: RedisConnectionFailure) {
        self.channel = channel
        self.store = store
        self.timeout = timeout
        self.failed = failed
    }

    /// Connects (TCP_NODELAY on) and writes the login; fails with `store_unavailable` when the TCP
    /// connection — and for `rediss://` its TLS handshake — is not up within `connectTimeout` (name
    /// resolution included).
    static func connect(
        to endpoint: RedisEndpoint,
        connectTimeout: TimeAmount,
        timeout: TimeAmount,
        group: any EventLoopGroup
    ) -> EventLoopFuture<RedisConnection> {
        let store = "\(endpoint.host):\(endpoint.port)"
        let deadline = NIODeadline.now() + connectTimeout
        let failed = RedisConnectionFailure()
        return ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls = endpoint.tls {
                        try channel.pipeline.syncOperations.addHandler(TLSClientHandler(context: tls, host: endpoint.host, deadline: deadline))
                    }
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(RESPDecoder()),
                        RedisChannelHandler(store: store, failed: failed)
                    )
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .flatMap { channel in TLSClientHandler.handshake(of: channel).map { channel } }
            .flatMapErrorThrowing { error in throw RedisError.unavailable("cannot connect to the store at \(store): \(error)") }
            .map { channel in
                let connection = RedisConnection(channel: channel, store: store, timeout: timeout, failed: failed)
                connection.logIn(endpoint.loginCommands())
                return connection
            }
    }

    /// Whether the connection can take requests: false from the moment it failed, before its callers
    /// hear of it (so one that calls again at once gets a new connection), and once it is closed.
    var isActive: Bool { self.failed.value == nil && self.channel.isActive }

    /// Writes `commands` (encoded commands) in one write and returns the `replies` replies to them.
    /// Fails with ``RedisError`` (and the connection with it) as ``RedisChannelHandler`` describes.
    func send(_ commands: ByteBuffer, replies: Int, login: [String]? = nil) -> EventLoopFuture<[RESPValue]> {
        let promise = self.channel.eventLoop.makePromise(of: [RESPValue].self)
        let written = self.channel.eventLoop.makePromise(of: Void.self)
        let (store, failed) = (self.store, self.failed)
        // A write on a channel already closed never reaches the handler: it fails with the reason the
        // connection failed (whichever completes the promise first wins).
        written.futureResult.whenFailure { _ in
            promise.fail(failed.value ?? RedisError.unavailable("connection to the store at \(store) closed"))
        }
        let request = RedisRequest(commands: commands, replyCount: replies, timeout: self.timeout, promise: promise, login: login)
        self.channel.writeAndFlush(request, promise: written)
        return promise.futureResult
    }

    func close() async {
        try? await self.channel.close()
    }

    private func logIn(_ commands: [(name: String, command: [RedisArgument])]) {
        guard !commands.isEmpty else { return }
        var buffer = self.channel.allocator.buffer(capacity: 64)
        for command in commands { buffer.writeRedisCommand(command.command) }
        // Its failure is the connection's: the handler fails the commands behind it with the same error.
        _ = self.send(buffer, replies: commands.count, login: commands.map(\.name))
    }
}
