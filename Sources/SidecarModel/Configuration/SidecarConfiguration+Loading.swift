//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import Logging

extension SidecarConfiguration {
    package static let topLevelKeys: Set<String> = [
        "listen", "server", "metrics", "providers", "models", "pricing", "routes", "resilience", "clients", "quotas", "usage", "audit",
        "passthrough", "log", "responses", "store",
    ]
    package static let serverKeys: Set<String> = [
        "max_request_body", "event_loop_threads", "request_read_timeout", "idle_timeout", "max_streams", "max_connections", "max_buffered_bytes",
        "shutdown_delay", "drain_timeout",
    ]
    package static let usageKeys: Set<String> = ["sink", "labels"]

    /// The largest configuration file read: 4 MiB (a file with a thousand models is about 100 KB).
    package static let maximumFileBytes = 4 << 20

    /// Reads and validates the configuration file at `path` (a regular file of at most
    /// ``maximumFileBytes``).
    /// - Throws: ``ConfigurationError`` listing every problem found, each with file, line and field.
    package static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SidecarConfiguration {
        let text: String
        do {
            try InputFile.checkRegularFile(path, limit: Self.maximumFileBytes)
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(problems: [
                ConfigurationProblem(file: path, field: "", message: "cannot read the file (\(error))")
            ])
        }
        return try Self.parse(yaml: text, file: path, environment: environment)
    }

    /// Validates configuration text; `file` names it in problems and resolves relative key files.
    package static func parse(yaml: String, file: String, environment: [String: String]) throws -> SidecarConfiguration {
        let root: YAMLNode
        do {
            root = try YAMLParser.parse(yaml) ?? YAMLNode(kind: .mapping([]), line: 1)
        } catch {
            throw ConfigurationError(problems: [
                ConfigurationProblem(file: file, line: error.line, field: error.field, message: "not valid YAML: \(error.message)")
            ])
        }
        var reader = ConfigurationReader(file: file, environment: environment)
        let configuration = Self.decode(root: .init(node: root, path: ""), reader: &reader)
        guard reader.problems.isEmpty, var configuration else { throw ConfigurationError(problems: reader.problems) }
        configuration.fingerprint = "sha256:" + SHA256.hex(yaml.utf8).prefix(16)
        return configuration
    }

    private static func decode(root: ConfigurationReader.Value, reader: inout ConfigurationReader) -> SidecarConfiguration? {
        var configuration = SidecarConfiguration(
            listen: ListenAddress("127.0.0.1:8080")!,
            server: ServerSettings(),
            providers: [:],
            models: ModelCatalog([]),
            routes: [:],
            resilience: ResilienceSettings(),
            quotas: QuotaSettings(),
            clients: [],
            usage: UsageSettings(),
            auditSink: nil,
            metricsListen: nil,
            passthroughProvider: nil,
            log: LogSettings(),
            warnings: []
        )
        var modelsValue: ConfigurationReader.Value?
        var routesValue: ConfigurationReader.Value?
        var declaredProviders: Set<String> = []
        for (key, value) in reader.mapping(root, allowedKeys: Self.topLevelKeys) {
            switch key {
            case "listen": configuration.listen = Self.decodeListen(value, reader: &reader) ?? configuration.listen
            case "server": configuration.server = Self.decodeServer(value, reader: &reader)
            case "metrics": configuration.metricsListen = Self.decodeMetrics(value, reader: &reader)
            case "providers": configuration.providers = ProviderConfiguration.decodeAll(value, declared: &declaredProviders, reader: &reader)
            case "models": modelsValue = value
            case "pricing": configuration.pricing = PricingSettings.decode(value, reader: &reader)
            case "routes": routesValue = value
            case "resilience": configuration.resilience = ResilienceSettings.decode(value, reader: &reader)
            case "quotas": configuration.quotas = QuotaSettings.decode(value, reader: &reader)
            case "clients": configuration.clients = ClientSettings.decodeAll(value, reader: &reader)
            case "usage": configuration.usage = Self.decodeUsage(value, reader: &reader)
            case "audit":
                for (key, child) in reader.mapping(value, allowedKeys: ["sink"]) where key == "sink" {
                    configuration.auditSink = Self.decodeSink(child, reader: &reader)
                }
            case "log": configuration.log = Self.decodeLog(value, reader: &reader)
            case "passthrough": configuration.passthroughProvider = Self.decodePassthrough(value, reader: &reader)
            case "responses": configuration.responses = ResponsesSettings.decode(value, reader: &reader)
            case "store": configuration.store = StoreSettings.decode(value, reader: &reader)
            default: break
            }
        }
        if let modelsValue {
            let entries = ModelEntry.decodeAll(modelsValue, providers: configuration.providers, declaredProviders: declaredProviders, reader: &reader)
            configuration.models = ModelCatalog(entries)
            if let routesValue {
                configuration.routes = RouteConfiguration.decodeAll(routesValue, models: configuration.models, reader: &reader)
            }
        } else {
            reader.report(nil, path: "models", "at least one model is required")
        }
        if let passthrough = configuration.passthroughProvider, configuration.providers[passthrough] == nil {
            reader.report(nil, path: "passthrough.provider", "no provider named '\(passthrough)'")
        }
        if let problem = configuration.exposureProblem(of: configuration.listen) {
            reader.report(nil, path: "listen", problem)
        }
        let clientNames = Set(configuration.clients.map(\.name))
        for name in configuration.quotas.clients.keys.sorted()
        where !clientNames.contains(name) && !(clientNames.isEmpty && name == ReservedName.anonymousClient) {
            reader.report(nil, path: "quotas.clients.\(name)", "no client named '\(name)' under clients")
        }
        configuration.warnings = configuration.providers.values.sorted { $0.name < $1.name }.compactMap(\.unusableReason)
        configuration.resolvePricing()
        return configuration
    }

    /// Why serving on `address` would let anyone on the network spend the provider keys: a
    /// non-loopback address without client tokens.
    package func exposureProblem(of address: ListenAddress) -> String? {
        let loopback = ["127.0.0.1", "::1", "localhost"].contains(address.host) || address.host.hasPrefix("127.")
        guard !loopback, self.clients.isEmpty else { return nil }
        return "\(address) is reachable from other machines: configure client tokens (clients:) before listening beyond loopback"
    }

    private static func decodeListen(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> ListenAddress? {
        guard let text = reader.string(value) else { return nil }
        guard let address = ListenAddress(text) else {
            reader.report(value, "must be HOST:PORT, such as 127.0.0.1:8080")
            return nil
        }
        return address
    }

    private static func decodeServer(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> ServerSettings {
        var settings = ServerSettings()
        for (key, child) in reader.mapping(value, allowedKeys: Self.serverKeys) {
            switch key {
            case "max_request_body": settings.maxRequestBodyBytes = reader.byteSize(child) ?? settings.maxRequestBodyBytes
            case "request_read_timeout": settings.requestReadTimeout = reader.duration(child) ?? settings.requestReadTimeout
            case "idle_timeout": settings.idleTimeout = reader.duration(child) ?? settings.idleTimeout
            case "max_streams": settings.maxStreams = reader.int(child, in: 1...1_000_000) ?? settings.maxStreams
            case "max_connections": settings.maxConnections = reader.int(child, in: 1...1_000_000) ?? settings.maxConnections
            case "max_buffered_bytes": settings.maxBufferedBytes = reader.byteSize(child) ?? settings.maxBufferedBytes
            case "shutdown_delay": settings.shutdownDelay = reader.duration(child) ?? settings.shutdownDelay
            case "drain_timeout": settings.drainTimeout = reader.duration(child) ?? settings.drainTimeout
            case "event_loop_threads":
                if let threads = child.node.int, (1...64).contains(threads) {
                    settings.eventLoopThreads = threads
                } else if child.node.string != "auto" {
                    reader.report(child, "must be auto or a number from 1 to 64")
                }
            default: break
            }
        }
        if settings.maxConnections < settings.maxStreams {
            reader.report(
                value,
                "max_connections (\(settings.maxConnections)) must be at least max_streams (\(settings.maxStreams)): each stream holds a connection"
            )
        }
        return settings
    }

    /// `metrics.listen`; an empty value (`${SIDECAR_METRICS_LISTEN:-}` unset) means none.
    private static func decodeMetrics(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> ListenAddress? {
        var address: ListenAddress?
        for (key, child) in reader.mapping(value, allowedKeys: ["listen"]) where key == "listen" {
            guard let text = reader.string(child), !text.isEmpty else { continue }
            guard let parsed = ListenAddress(text) else {
                reader.report(child, "must be HOST:PORT, such as 0.0.0.0:9464, or empty")
                continue
            }
            address = parsed
        }
        return address
    }

    private static func decodeUsage(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> UsageSettings {
        var settings = UsageSettings()
        for (key, child) in reader.mapping(value, allowedKeys: Self.usageKeys) {
            if key == "labels" {
                settings.labels = reader.mapping(child).compactMap { name, label in reader.string(label).map { (name, $0) } }
                continue
            }
            settings.sink = Self.decodeSink(child, reader: &reader) ?? settings.sink
        }
        return settings
    }

    private static func decodeSink(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> UsageSettings.Sink? {
        switch reader.string(value) {
        case "stdout"?: return .standardOutput
        case "stderr"?: return .standardError
        case let path? where !path.isEmpty: return .file(path)
        default:
            reader.report(value, "must be stdout, stderr or a file path")
            return nil
        }
    }

    private static func decodeLog(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> LogSettings {
        var settings = LogSettings()
        for (key, child) in reader.mapping(value, allowedKeys: ["level", "format"]) {
            guard let text = reader.string(child) else { continue }
            switch key {
            case "level":
                guard let level = Logger.Level(rawValue: text) else {
                    reader.report(child, "must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
                    continue
                }
                settings.level = level
            case "format":
                guard let format = LogSettings.Format(rawValue: text) else {
                    reader.report(child, "must be json or text")
                    continue
                }
                settings.format = format
            default: break
            }
        }
        return settings
    }

    private static func decodePassthrough(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> String? {
        var provider: String?
        for (key, child) in reader.mapping(value, allowedKeys: ["provider"]) where key == "provider" {
            provider = reader.string(child)
        }
        return provider
    }
}
