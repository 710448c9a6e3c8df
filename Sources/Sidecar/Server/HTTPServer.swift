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
import Synchronization

/// The inbound HTTP/1.1 server: SwiftNIO's HTTP codec and pipelining helper, an idle timeout,
/// and ``HTTPRequestHandler``. Keep-alive, pipelining and `Expect: 100-continue` are supported.
///
/// On graceful shutdown it stops accepting, closes idle connections at once and the others
/// as soon as their current response has ended, then returns.
final class HTTPServer: Service {
    struct Configuration: Sendable {
        var host: String
        var port: Int
        /// A connection with no request in flight and no traffic for this long is closed (default 5 min).
        var idleTimeout: TimeAmount = .minutes(5)
        /// Read before each request, so a reload applies to the next one.
        var maximumBodyBytes: @Sendable () -> Int
    }

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
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    // Response headers are built by the sidecar (upstream values come from libcurl's
                    // line parser, so they cannot hold CR or LF): skip NIO's per-response validation.
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withPipeliningAssistance: true,
                        withServerUpgrade: nil,
                        withErrorHandling: true,
                        withOutboundHeaderValidation: false
                    )
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(allTimeout: configuration.idleTimeout),
                        HTTPRequestHandler(maximumBodyBytes: configuration.maximumBodyBytes, responder: responder),
                    ])
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        if let address = server.localAddress { self.onListening(address) }
        try? await gracefulShutdown()
        self.logger.info("stopping: no new connections; finishing in-flight requests", metadata: ["connections": "\(connections.count)"])
        try? await server.close()
        await connections.quiesce()
    }
}

/// The server's open connections, so shutdown can ask each to finish and wait until they have.
private final class ConnectionTracker: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    var count: Int { self.channels.withLock { $0.count } }

    func add(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        self.channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { _ in
            self.channels.withLock { _ = $0.removeValue(forKey: key) }
        }
    }

    /// Asks every connection to close once its current response ended, and waits for that.
    func quiesce() async {
        let open = self.channels.withLock { Array($0.values) }
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        for channel in open {
            try? await channel.closeFuture.get()
        }
    }
}
