//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOPosix
import Synchronization

/// A RESP2 client for the fleet store (Redis or Valkey) on SwiftNIO's event loops: TCP or TLS
/// (``TLSClientHandler``), one connection per event loop, pipelined.
///
/// **One connection per event loop, multiplexed.** A call made on one of the group's event loops
/// (every request's task runs on its connection's loop) uses that loop's connection, so its write,
/// its reply and the caller's resumption stay on one thread — a connection shared by every loop
/// cost each request on another loop two thread wake-ups per round trip. Calls from elsewhere (the
/// CLI, tests) share the connection of one loop chosen at start. So a sidecar opens at most
/// `server.event_loop_threads` connections (2 by default). Concurrent callers' batches on a
/// connection are written in the order they arrive and their replies matched in that order (see
/// ``RedisChannelHandler``). A slow reply delays the replies queued behind it, which is why every
/// call is bounded by `timeout`, and why the scripts answer with a few integers.
///
/// **Failures.** A call never blocks longer than `connectTimeout + timeout`: connecting (lazily, on
/// the first call after start or after a failure) is bounded by `connectTimeout`, the replies by
/// `timeout` from the write. When either is exceeded, or the connection is lost, the call throws
/// ``RedisError`` and the connection is closed, with every call waiting on it; the next call reconnects.
/// Cancelling the calling task does not end a call sooner than these bounds.
///
/// Call ``shutdown()`` when done: the open connection keeps the client alive until it is closed.
final class RedisClient: Sendable {
    private enum Slot {
        case idle
        case connecting(EventLoopFuture<RedisConnection>)
        case connected(RedisConnection)
    }

    private struct State {
        /// Each event loop's connection, by the loop's identity.
        var slots: [ObjectIdentifier: Slot] = [:]
        var isShutDown = false
    }

    private let endpoint: RedisEndpoint
    private let connectTimeout: TimeAmount
    private let timeout: TimeAmount
    private let group: any EventLoopGroup
    /// The loop whose connection serves calls made outside the group's loops.
    private let home: any EventLoop
    private let state = Mutex(State())

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
        self.home = group.next()
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

    /// Closes the connections; later calls throw `store_unavailable`.
    func shutdown() async {
        let previous = self.state.withLock { state in
            defer { state = State(isShutDown: true) }
            return state.slots.values
        }
        for slot in previous {
            switch slot {
            case .connected(let connection): await connection.close()
            case .connecting(let future): await (try? future.get())?.close()
            case .idle: break
            }
        }
    }

    /// The event loop whose connection a call made now uses: the caller's, when it runs on one of
    /// the group's loops, else ``home``.
    private var loop: any EventLoop {
        guard let current = MultiThreadedEventLoopGroup.currentEventLoop else { return self.home }
        return self.group.makeIterator().contains { $0 === current } ? current : self.home
    }
}

extension RedisClient {
    private enum Next {
        case use(RedisConnection)
        case wait(EventLoopFuture<RedisConnection>)
        case start(EventLoopPromise<RedisConnection>)
        case refuse
    }

    /// The open connection of the caller's event loop, or the one being opened (every caller on that
    /// loop meanwhile waits for the same one).
    func connection() async throws(RedisError) -> RedisConnection {
        let loop = self.loop
        let key = ObjectIdentifier(loop)
        let next: Next = self.state.withLock { state in
            guard !state.isShutDown else { return .refuse }
            switch state.slots[key] ?? .idle {
            case .connected(let connection) where connection.isActive: return .use(connection)
            case .connecting(let future): return .wait(future)
            case .idle, .connected:
                let promise = loop.makePromise(of: RedisConnection.self)
                state.slots[key] = .connecting(promise.futureResult)
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
                group: loop
            )
            connecting.whenComplete { result in self.finishConnecting(promise.futureResult, on: key, result: result) }
            connecting.cascade(to: promise)
            return try await Self.value(of: promise.futureResult)
        }
    }

    /// Records the connection `future` ended with, unless the client moved on (shut down) meanwhile.
    private func finishConnecting(_ future: EventLoopFuture<RedisConnection>, on key: ObjectIdentifier, result: Result<RedisConnection, any Error>) {
        let keep = self.state.withLock { state in
            guard case .connecting(let current)? = state.slots[key], current === future else { return false }
            state.slots[key] = (try? result.get()).map(Slot.connected) ?? .idle
            return true
        }
        guard case .success(let connection) = result else { return }
        guard keep else { return connection.channel.close(promise: nil) }
        connection.channel.closeFuture.whenComplete { _ in
            self.state.withLock { state in
                if case .connected(let current)? = state.slots[key], current === connection { state.slots[key] = .idle }
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
