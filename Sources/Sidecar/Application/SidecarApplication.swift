//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import NIOCore
import ServiceLifecycle
import SidecarModel
import UnixSignals

/// Wires the sidecar together and runs it until SIGTERM or SIGINT.
///
/// Services run in one `ServiceGroup` and stop in reverse order: the HTTP server first (it
/// turns readiness false, drains in-flight requests and streams up to `server.drain_timeout`),
/// then the metrics listener (so probes see "not ready" throughout), the configuration watcher,
/// the health checker, the curl engine, and the usage writer, which writes every remaining line
/// before the process exits with status 0.
struct SidecarApplication {
    let configuration: SidecarConfiguration
    /// The file to watch for reloads.
    let configurationPath: String
    let logger: Logger

    func run() async throws {
        for warning in self.configuration.warnings {
            self.logger.warning("\(warning)")
        }
        let quotas = QuotaBook(windows: try self.configuration.quotas.stateFile.map(QuotaStateFile.load) ?? [:])
        let statistics = self.rebuiltStatistics()
        let engine = CurlEngine(logger: self.logger)
        let network = CurlUpstreamClient(engine: engine)
        let usage = try UsageLineWriter(sink: self.configuration.usage.sink, labels: self.configuration.usage.labels)
        var services: [any Service] = [usage, engine]
        let audit = try self.auditLog(usage: usage, services: &services)
        audit.record("config_loaded", self.configuration.auditFields(path: self.configurationPath))
        let store = RuntimeStore(RuntimeSnapshot(configuration: self.configuration, network: network))
        let fleet = try self.configuration.store.map { settings in
            try FleetStore(settings: settings, audit: audit) { store.current.configuration.store?.password?.value }
        }
        let limits = InMemoryResponseStore.Limits(self.configuration.responses)
        let responses: any ResponseStore = fleet.map { RedisResponseStore(store: $0, limits: limits) } ?? InMemoryResponseStore(limits: limits)
        let shared = Services(
            store: store,
            usage: usage,
            logger: self.logger,
            quotas: fleet.map { FleetQuotaBook(store: $0, local: quotas) } ?? quotas,
            statistics: statistics,
            audit: audit,
            responses: responses,
            fleet: fleet
        )
        let router = SidecarRouter(services: shared)
        if let path = self.configuration.quotas.stateFile {
            services.append(QuotaStateFile(path: path, book: quotas, logger: self.logger))
        }
        services += [
            HealthChecker(store: store, logger: self.logger, audit: audit),
            ConfigurationWatcher(
                path: self.configurationPath,
                listen: self.configuration.listen,
                store: store,
                network: network,
                metrics: shared.metrics,
                audit: audit,
                logger: self.logger
            ),
        ]
        if let address = self.configuration.metricsListen {
            services.append(self.operationsServer(address, routes: router.operations))
        }
        services.append(self.mainServer(router: router, store: store, shared: shared))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: self.logger)
        )
        try await group.run()
    }

    /// The audit log: on the usage writer when `audit.sink` is unset or the same, else on a
    /// writer of its own (added to `services`). A file that already holds a chain is continued.
    private func auditLog(usage: UsageLineWriter, services: inout [any Service]) throws -> AuditLog {
        let sink = self.configuration.auditSink ?? self.configuration.usage.sink
        var last: [UInt8]?
        if case .file(let path) = sink { last = AuditLog.lastLine(inFile: path) }
        guard sink != self.configuration.usage.sink else { return AuditLog(continuing: last, write: usage.append) }
        let writer = try UsageLineWriter(sink: sink)
        services.append(writer)
        return AuditLog(continuing: last, write: writer.append)
    }

    /// Statistics that, when usage lines go to a file, also count what earlier runs wrote
    /// there (read in the background, up to the size the file had at start).
    private func rebuiltStatistics() -> UsageStatistics {
        let statistics = UsageStatistics()
        guard case .file(let path) = self.configuration.usage.sink, let size = FileIdentity(path: path)?.size else { return statistics }
        let logger = self.logger
        let configuration = self.configuration
        Task {
            let lines = statistics.rebuild(fromFile: path, upTo: size, configuration: configuration)
            logger.info("usage statistics rebuilt from the usage file", metadata: ["path": "\(path)", "lines": "\(lines ?? 0)"])
        }
        return statistics
    }

    private func mainServer(router: SidecarRouter, store: RuntimeStore, shared: Services) -> HTTPServer {
        let listen = self.configuration.listen
        let logger = self.logger
        return HTTPServer(
            configuration: HTTPServer.Configuration(
                host: listen.host,
                port: listen.port,
                idleTimeout: TimeAmount(self.configuration.server.idleTimeout),
                maximumBodyBytes: { store.current.configuration.server.maxRequestBodyBytes },
                requestBudget: { shared.bufferBudget(snapshot: store.current) },
                headRefusal: { head in
                    let clients = store.current.configuration.clients
                    guard !clients.isEmpty else { return nil }
                    do throws(ProxyError) {
                        _ = try ClientIdentity.authenticate(ServerRequest(head: head, body: ByteBuffer()), clients: clients)
                        return nil
                    } catch {
                        return error
                    }
                },
                maximumConnections: { store.current.configuration.server.maxConnections },
                requestReadTimeout: TimeAmount(self.configuration.server.requestReadTimeout),
                drain: { (store.current.configuration.server.shutdownDelay, store.current.configuration.server.drainTimeout) },
                lifecycle: shared.lifecycle
            ),
            logger: self.logger,
            onListening: { address in
                logger.info("listening", metadata: ["address": "\(address)", "models": "\(store.current.configuration.models.listed.count)"])
            },
            responder: router.respond(to:)
        )
    }

    /// `/metrics`, `/healthz` and `/readyz` on `metrics.listen`; 404 for anything else.
    private func operationsServer(_ address: ListenAddress, routes: OperationsRoutes) -> HTTPServer {
        let logger = self.logger
        return HTTPServer(
            configuration: HTTPServer.Configuration(host: address.host, port: address.port, maximumBodyBytes: { 4096 }),
            logger: self.logger,
            onListening: { address in logger.info("metrics listening", metadata: ["address": "\(address)"]) },
            responder: { request in await routes.respond(to: request) ?? SidecarRouter.notFound(request) }
        )
    }
}
