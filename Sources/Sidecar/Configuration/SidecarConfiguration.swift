//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import NIOCore

/// A validated, immutable configuration snapshot, decoded from `sidecar.yaml`.
///
/// Build one with ``load(path:environment:)``, which reports every problem in the file at once.
struct SidecarConfiguration: Sendable {
    var listen: ListenAddress
    var server: ServerSettings
    var providers: [String: ProviderConfiguration]
    var models: ModelCatalog
    /// Default prices besides the built-in table (`pricing:`).
    var pricing = PricingSettings()
    /// Task type → candidate models (`routes:`), used by `model: "auto"`.
    var routes: [String: RouteConfiguration]
    var resilience: ResilienceSettings
    var quotas: QuotaSettings
    /// Applications allowed to call, by token; empty: anonymous local callers (client `default`).
    var clients: [ClientSettings]
    var usage: UsageSettings
    /// Where audit lines go (`audit.sink`); `nil`: with the usage lines.
    var auditSink: UsageSettings.Sink?
    /// A second listener for `/metrics`, `/healthz` and `/readyz` (`metrics.listen`), for
    /// Prometheus and kubelet probes, which reach the pod's IP rather than loopback; `nil`: none
    /// (the main listener serves those paths too).
    var metricsListen: ListenAddress?
    /// The provider that receives `/v1/*` requests the sidecar does not handle itself, if any.
    var passthroughProvider: String?
    var log: LogSettings
    /// `sha256:` and the first 16 hexadecimal digits of the file's SHA-256, to tell versions apart
    /// in logs, `/readyz` and audit lines.
    var fingerprint = ""
    /// Facts worth a start-up warning that do not stop the sidecar (e.g. a provider without its key).
    var warnings: [String]
}

/// Where the sidecar accepts connections.
struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    var host: String
    var port: Int

    /// Parses `HOST:PORT` (`127.0.0.1:8080`, `[::1]:8080`, `localhost:0`).
    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    var description: String { self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)" }
}

/// Inbound HTTP server settings (`server:`).
struct ServerSettings: Sendable {
    /// The largest request body accepted; larger bodies get 413 (default 8 MiB).
    var maxRequestBodyBytes = 8 << 20
    /// NIO event-loop threads serving clients; `nil` means automatic: one per available core
    /// (NIO honours cgroup CPU limits) and at most 2, because a sidecar shares its pod's CPU.
    var eventLoopThreads: Int?

    /// From a request's first byte until it is complete; slower clients get 408 (default 30 s).
    var requestReadTimeout: Duration = .seconds(30)
    /// A connection with no request and no traffic for this long is closed (default 5 min).
    var idleTimeout: Duration = .seconds(300)
    /// Streams admitted at once, from admission (before the provider is called) until the
    /// relay ended; more get 503 `too_many_streams` (default 2000, ≈ 42 KB each).
    var maxStreams = 2000
    /// Open client connections; beyond it a new connection gets 503 `too_many_connections` and
    /// is closed (default 4096; at least `max_streams`, since each stream holds one).
    var maxConnections = 4096
    /// Bytes held in memory at once, process-wide, by request bodies being read and provider
    /// answers being collected (not streamed); a request that would exceed it gets 503
    /// `buffer_budget_exhausted` with `Retry-After: 1`. Default 40 MiB: one answer of the 32 MiB
    /// maximum fits, and at about 3 bytes of memory per buffered byte while an answer is
    /// translated (≈ 125 MiB), plus 36 MiB base and 2000 streams × 42 KB, the 256 MiB pod limit holds.
    var maxBufferedBytes = 40 << 20
    /// After SIGTERM: how long the sidecar keeps accepting connections while reporting not ready,
    /// so endpoints and load balancers stop sending first (default 0 s; 3 s in Kubernetes).
    var shutdownDelay: Duration = .zero
    /// After that: how long in-flight requests and streams may run before they are ended with an
    /// error (default 30 s). Keep `terminationGracePeriodSeconds` above the sum.
    var drainTimeout: Duration = .seconds(30)

    /// The thread count to start: the configured one, or the automatic choice.
    var resolvedEventLoopThreads: Int { self.eventLoopThreads ?? min(2, System.coreCount) }
}

/// Where usage lines go (`usage:`).
struct UsageSettings: Sendable {
    enum Sink: Sendable, Hashable {
        case standardOutput
        case standardError
        case file(String)
    }

    var sink: Sink = .standardOutput
    /// Fields added to every usage line, in order (e.g. the pod name from the downward API).
    var labels: [(name: String, value: String)] = []
}

/// Diagnostic logging (`log:`), written to standard error.
struct LogSettings: Sendable {
    enum Format: String, Sendable, CaseIterable {
        case json
        case text
    }

    var level: Logger.Level = .info
    var format: Format = .json
}
