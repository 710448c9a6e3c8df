//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import SidecarModel
import Synchronization

/// The inbound HTTP/1.1 server: SwiftNIO's HTTP codec and pipelining helper, an idle timeout,
/// and ``HTTPRequestHandler``. Keep-alive, pipelining and `Expect: 100-continue` are supported.
///
/// On graceful shutdown it marks the lifecycle draining (readiness turns false), keeps
/// accepting for the shutdown delay, stops accepting, closes idle connections at once and the
/// others as soon as their current response has ended. Connections still busy at the drain
/// deadline get a ``DrainDeadlineEvent``: their requests end with a `shutting_down` error, and
/// the server returns once they closed (at most 5 s later).
final class HTTPServer: Service {
    struct Configuration: Sendable {
        var host: String
        var port: Int
        /// A connection with no request in flight and no traffic for this long is closed (default
        /// 5 min), at any point in its life: before its first request and after any answer.
        var idleTimeout: TimeAmount = .minutes(5)
        /// Read before each request, so a reload applies to the next one.
        var maximumBodyBytes: @Sendable () -> Int
        /// A fresh share of `server.max_buffered_bytes` for each request body; `nil`: unbudgeted.
        var requestBudget: (@Sendable () -> BufferBudget)? = nil
        /// Why a request is refused at its head (a missing or wrong client token), if it is: its
        /// body is then read and dropped, never held against `server.max_buffered_bytes`.
        var headRefusal: (@Sendable (HTTPRequestHead) -> ProxyError?)? = nil
        /// Read for each new connection (default 4096): beyond it the connection takes the place of
        /// the one idle the longest (idle for at least 1 s), which is closed, else it gets 503
        /// `too_many_connections` and is closed.
        var maximumConnections: @Sendable () -> Int = { 4096 }
        /// From a request's first byte until it is complete (default 30 s; slowloris defence).
        var requestReadTimeout: TimeAmount = .seconds(30)
        /// Read at shutdown: how long to keep accepting, then how long in-flight work may take.
        var drain: @Sendable () -> (delay: Duration, timeout: Duration) = { (.zero, .seconds(30)) }
        /// Told when draining starts and when the drain deadline passed.
        var lifecycle: ServerLifecycle?
    }

    /// How long connections cut at the drain deadline get to write their error and close.
    static let cutOffGrace: Duration = .seconds(5)

    private let configuration: Configuration
    private let responder: HTTPRequestHandler.Responder
    private let onListening: @Sendable (SocketAddress) -> Void
    private let logger: Logger

    init(
        configuration: Configuration,
        logger: Logger,
        onListening: @escaping @Sendable (SocketAddress) -> Void = { _ in },
        responder: @escaping HTTPRequestHandler.Responder
    ) {
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
        self.responder = responder
    }

    func run() async throws {
        let connections = ConnectionTracker()
        let configuration = self.configuration
        let responder = self.responder
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let activity = ConnectionActivity()
                guard connections.add(channel, activity: activity, limit: configuration.maximumConnections()) else {
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ConnectionRefusalHandler())
                    }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try Self.configure(channel.pipeline.syncOperations, configuration: configuration, activity: activity, responder: responder)
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        if let address = server.localAddress { self.onListening(address) }
        try? await gracefulShutdown()
        await self.drain(server, connections: connections)
    }

    /// Sets up one client connection's pipeline (internal for tests on a `NIOAsyncTestingChannel`).
    static func configure(
        _ pipeline: ChannelPipeline.SynchronousOperations,
        configuration: Configuration,
        activity: ConnectionActivity = ConnectionActivity(),
        responder: @escaping HTTPRequestHandler.Responder
    ) throws {
        let deadline = RequestReadDeadline(timeout: configuration.requestReadTimeout, activity: activity)
        try pipeline.addHandler(RequestReadDeadlineHandler(deadline))
        // Every response's header values are escaped once (`escapedForSending`); NIO's
        // outbound validation stays on behind it, so a value that slipped past closes the
        // connection instead of splitting the response. Its cost, measured in release on
        // a six-header head: 0.5–1.3 µs per response, against the ~220 µs the sidecar adds.
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: true,
            withServerUpgrade: nil,
            withErrorHandling: false,
            withOutboundHeaderValidation: true
        )
        let helper = try pipeline.handler(type: HTTPServerPipelineHandler.self)
        try pipeline.addHandler(RequestEndObserver(deadline), position: .before(helper))
        try pipeline.addHandler(ReadInterestKeeper(), position: .before(helper))
        try pipeline.addHandlers([
            HTTPProtocolErrorHandler(),
            IdleStateHandler(allTimeout: configuration.idleTimeout),
            HTTPRequestHandler(
                maximumBodyBytes: configuration.maximumBodyBytes,
                requestBudget: configuration.requestBudget,
                headRefusal: configuration.headRefusal,
                deadline: deadline,
                responder: responder
            ),
        ])
    }

    private func drain(_ server: any Channel, connections: ConnectionTracker) async {
        let (delay, timeout) = self.configuration.drain()
        self.configuration.lifecycle?.beginDraining()
        if delay > .zero {
            self.logger.info("draining: not ready; still accepting", metadata: ["delay": "\(delay)"])
            try? await Task.sleep(for: delay)
        }
        self.logger.info("stopping: no new connections; finishing in-flight requests", metadata: ["connections": "\(connections.count)"])
        try? await server.close()
        if await connections.quiesce(within: timeout) { return }
        self.logger.warning("drain deadline passed: ending the remaining requests", metadata: ["connections": "\(connections.count)"])
        self.configuration.lifecycle?.cutOff()
        _ = await connections.cutOff(within: Self.cutOffGrace)
    }
}

/// The server's open connections, so shutdown can ask each to finish and wait until they have,
/// and `server.max_connections` can be kept.
private final class ConnectionTracker: Sendable {
    private struct Connection {
        var channel: any Channel
        var activity: ConnectionActivity
    }

    private let channels = Mutex<[ObjectIdentifier: Connection]>([:])

    var count: Int { self.channels.withLock { $0.count } }

    /// A connection idle this long may be closed to make room for a new one.
    static let sheddableAfter = TimeAmount.seconds(1)

    /// Tracks `channel` unless `limit` connections are already open and none of them has been
    /// idle for ``sheddableAfter``; `false`: refuse it. The one idle the longest (silent since it
    /// was accepted, or since its last answer) is closed to make room, so connections that only
    /// hold a place cannot lock clients out.
    func add(_ channel: any Channel, activity: ConnectionActivity, limit: Int) -> Bool {
        let key = ObjectIdentifier(channel)
        let latest = Int(clamping: (NIODeadline.now() - Self.sheddableAfter).uptimeNanoseconds)
        let (admitted, shed) = self.channels.withLock { channels -> (Bool, (any Channel)?) in
            var shed: (any Channel)?
            if channels.count >= limit {
                let idle = channels.compactMap { entry in entry.value.activity.idleSinceNanoseconds.map { (entry.key, $0) } }
                guard let oldest = idle.min(by: { $0.1 < $1.1 }), oldest.1 <= latest else { return (false, nil) }
                shed = channels.removeValue(forKey: oldest.0)?.channel
            }
            channels[key] = Connection(channel: channel, activity: activity)
            return (true, shed)
        }
        shed?.close(promise: nil)
        guard admitted else { return false }
        channel.closeFuture.whenComplete { _ in
            self.channels.withLock { channels in
                if channels[key]?.channel === channel { channels.removeValue(forKey: key) }
            }
        }
        return true
    }

    /// Asks every connection to close once its current response ended; returns whether they
    /// all closed within `timeout`.
    func quiesce(within timeout: Duration) async -> Bool {
        await self.send(ChannelShouldQuiesceEvent(), thenWait: timeout)
    }

    /// Cancels the requests still in progress; returns whether the connections closed within `timeout`.
    func cutOff(within timeout: Duration) async -> Bool {
        await self.send(DrainDeadlineEvent(), thenWait: timeout)
    }

    private func send(_ event: some Sendable, thenWait timeout: Duration) async -> Bool {
        let open = self.channels.withLock { $0.values.map(\.channel) }
        guard let loop = open.first?.eventLoop else { return true }
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(event) }
        let closed = EventLoopFuture.andAllComplete(open.map(\.closeFuture), on: loop)
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let pending = Mutex<CheckedContinuation<Bool, Never>?>(continuation)
            let finish: @Sendable (Bool) -> Void = { closed in
                pending.withLock { pending in
                    pending?.resume(returning: closed)
                    pending = nil
                }
            }
            let timer = loop.scheduleTask(in: TimeAmount(timeout)) { finish(false) }
            closed.whenComplete { _ in
                timer.cancel()
                finish(true)
            }
        }
    }
}
