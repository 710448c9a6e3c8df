//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// Wires the sidecar together and runs it until SIGTERM or SIGINT.
///
/// Services run in one `ServiceGroup` and stop in reverse order: the HTTP server first (it
/// stops accepting and lets in-flight requests and streams finish), then the curl engine, then
/// the usage writer, which writes every remaining line before the process exits.
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
        let listen = self.configuration.listen
        let logger = self.logger
        let application = Application(
            router: SidecarRouter.make(context: context),
            configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port), serverName: nil),
            onServerRunning: { channel in
                let address = channel.localAddress.map { "\($0.ipAddress ?? listen.host):\($0.port ?? listen.port)" } ?? "\(listen)"
                logger.info("listening", metadata: ["address": "\(address)", "models": "\(store.current.configuration.models.listed.count)"])
            },
            logger: self.logger
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [usage, engine, application],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: self.logger
            )
        )
        try await group.run()
    }
}
