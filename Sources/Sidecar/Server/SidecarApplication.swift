//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// Wires the sidecar together and runs it until SIGTERM or SIGINT.
///
/// Services run in one `ServiceGroup` and stop in reverse order: the HTTP server first (it
/// stops accepting and lets in-flight requests and streams finish), then the health checker,
/// the curl engine, and the usage writer, which writes every remaining line before the process
/// exits.
struct SidecarApplication {
    let configuration: SidecarConfiguration
    let logger: Logger

    func run() async throws {
        for warning in self.configuration.warnings {
            self.logger.warning("\(warning)")
        }
        let engine = CurlEngine(logger: self.logger)
        let usage = try UsageLineWriter(sink: self.configuration.usage.sink)
        let store = RuntimeStore(RuntimeSnapshot(configuration: self.configuration, network: CurlUpstreamClient(engine: engine)))
        let context = ProxyContext(store: store, usage: usage, logger: self.logger)
        let router = SidecarRouter(context: context)
        let listen = self.configuration.listen
        let logger = self.logger
        let server = HTTPServer(
            configuration: HTTPServer.Configuration(
                host: listen.host,
                port: listen.port,
                maximumBodyBytes: { store.current.configuration.server.maxRequestBodyBytes }
            ),
            logger: self.logger,
            onListening: { address in
                logger.info("listening", metadata: ["address": "\(address)", "models": "\(store.current.configuration.models.listed.count)"])
            },
            responder: router.respond(to:)
        )
        let healthChecker = HealthChecker(store: store, logger: self.logger)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [usage, engine, healthChecker, server],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: self.logger
            )
        )
        try await group.run()
    }
}
