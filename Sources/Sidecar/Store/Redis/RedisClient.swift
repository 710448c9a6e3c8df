//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOPosix
import Synchronization

/// A RESP2 client for the fleet store (Redis or Valkey) on SwiftNIO's event loops: TCP or TLS (``TLSClientHandler``), one
/// connection, pipelined.
///
/// **One connection, multiplexed.** Concurrent callers' batches are written in the order they arrive
/// and their replies matched in that order (see ``RedisChannelHandler``). The server runs commands on
/// one thread, so a second connection would not run them sooner: one pipelined connection carries
/// tens of thousands of small commands a second on loopback, while a sidecar sends at most two
/// batches (reserve, settle) per proxied request. A slow reply delays the replies queued behind it,
/// which is why every call is bounded by `timeout`, and why the scripts answer with a few integers.
///
/// **Failures.** A call never blocks longer than `connectTimeout + timeout`: connecting (lazily, on
/// the first call after start or after a failure) is bounded by `connectTimeout`, the replies by
/// `timeout` from the write. When either is exceeded, or the connection is lost, the call throws
/// ``RedisError`` and the connection is closed, with every call waiting on it; the next call reconnects.
/// Cancelling the calling task does not end a call sooner than these bounds.
///
/// Call ``shutdown()`` when done: the open connection keeps the client alive until it is closed.
final class RedisClient: Sendable {
    private enum State {
        case idle
        case connecting(EventLoopFuture<RedisConnection>)
        case connected(RedisConnection)
        case shutDown
    }

    private let endpoint: RedisEndpoint
    private let connectTimeout: TimeAmount
    private let timeout: TimeAmount
    private let group: any EventLoopGroup
    private let state = Mutex(State.idle)

    /// - Parameter group: where the connection's I/O runs; by default NIO's shared group, the one the
    ///   server runs on.
    init(
        endpoint: RedisEndpoint,
        connectTimeout: Duration,
        timeout: Duration,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.endpoint = endpoint
        self.connectTimeout = TimeAmount(connectTimeout)
        self.timeout = TimeAmount(timeout)
        self.group = group
    }

    /// Sends every command in one write (pipelined) and returns their replies in order: one round trip.
    ///
    /// An error reply is a ``RESPValue/error(_:)`` in its place; only a failed round trip throws.
    /// Every command must answer with exactly one reply and at once: no `SUBSCRIBE` or `MONITOR` (more
    /// replies than commands), no blocking command such as `BLPOP` (it would hold every caller queued
    /// behind it until `timeout`).
    /// - Precondition: no command is empty.
    func pipeline(_ commands: [[RedisArgument]]) async throws(RedisError) -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let connection = try await self.connection()
        var buffer = connection.channel.allocator.buffer(capacity: 64 * commands.count)
        for command in commands { buffer.writeRedisCommand(command) }
        return try await Self.value(of: connection.send(buffer, replies: commands.count))
    }

    /// Runs each script with `EVALSHA` in one pipeline and returns their replies in order.
    ///
    /// Scripts the server does not have (a `NOSCRIPT` reply: after a restart, a failover or
    /// `SCRIPT FLUSH`) are loaded with `SCRIPT LOAD` and run again, once, in a second pipeline: at most
    /// two round trips. A script that answered `NOSCRIPT` did not run, so running it again is safe.
    /// Each round trip is bounded like ``pipeline(_:)``; the second one happens only after a `NOSCRIPT`.
    func run(_ calls: [(script: RedisScript, keys: [String], arguments: [String])]) async throws(RedisError) -> [RESPValue] {
        var replies = try await self.pipeline(calls.map { $0.script.evalsha(keys: $0.keys, arguments: $0.arguments) })
        let missing = replies.indices.filter { replies[$0].errorMessage?.hasPrefix("NOSCRIPT") == true }
        guard !missing.isEmpty else { return replies }
        var loaded: Set<String> = []
        let loads = missing.map { calls[$0].script }.filter { loaded.insert($0.sha1).inserted }.map(\.load)
        let again = try await self.pipeline(loads + missing.map { calls[$0].script.evalsha(keys: calls[$0].keys, arguments: calls[$0].arguments) })
        for (index, reply) in zip(missing, again.dropFirst(loads.count)) { replies[index] = reply }
        return replies
    }

    /// Closes the connection; later calls throw `store_unavailable`.
    func shutdown() async {
        let previous = self.state.withLock { state in
            defer { state = .shutDown }
            return state
        }
        switch previous {
        case .connected(let connection): await connection.close()
        case .connecting(let future): await (try? future.get())?.close()
        case .idle, .shutDown: break
        }
    }
}

extension RedisClient {
    private enum Next {
        case use(RedisConnection)
        case wait(EventLoopFuture<RedisConnection>)
        case start(EventLoopPromise<RedisConnection>)
        case refuse
    }

    /// The open connection, or the one being opened (every caller meanwhile waits for the same one).
    func connection() async throws(RedisError) -> RedisConnection {
        let next: Next = self.state.withLock { state in
            switch state {
            case .connected(let connection) where connection.isActive: return .use(connection)
            case .connecting(let future): return .wait(future)
            case .shutDown: return .refuse
            case .idle, .connected:
                let promise = self.group.any().makePromise(of: RedisConnection.self)
                state = .connecting(promise.futureResult)
                return .start(promise)
            }
        }
        switch next {
        case .use(let connection): return connection
        case .wait(let future): return try await Self.value(of: future)
        case .refuse: throw .unavailable("the store client at \(self.endpoint.host):\(self.endpoint.port) is shut down")
        case .start(let promise):
            let connecting = RedisConnection.connect(
                to: self.endpoint,
                connectTimeout: self.connectTimeout,
                timeout: self.timeout,
                group: self.group
            )
            connecting.whenComplete { result in self.finishConnecting(promise.futureResult, result: result) }
            connecting.cascade(to: promise)
            return try await Self.value(of: promise.futureResult)
        }
    }

    /// Records the connection `future` ended with, unless the client moved on (shut down) meanwhile.
    private func finishConnecting(_ future: EventLoopFuture<RedisConnection>, result: Result<RedisConnection, any Error>) {
        let keep = self.state.withLock { state in
            guard case .connecting(let current) = state, current === future else { return false }
            state = (try? result.get()).map(State.connected) ?? .idle
            return true
        }
        guard case .success(let connection) = result else { return }
        guard keep else { return connection.channel.close(promise: nil) }
        connection.channel.closeFuture.whenComplete { _ in
            self.state.withLock { state in
                if case .connected(let current) = state, current === connection { state = .idle }
            }
        }
    }

    /// The value of `future`, its error as a ``RedisError``.
    static func value<Value: Sendable>(of future: EventLoopFuture<Value>) async throws(RedisError) -> Value {
        do {
            return try await future.get()
        } catch let error as RedisError {
            throw error
        } catch {
            throw .unavailable("\(error)")
        }
    }
}
