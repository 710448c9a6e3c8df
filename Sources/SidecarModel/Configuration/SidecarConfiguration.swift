//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import Logging

/// A validated, immutable configuration snapshot, decoded from `sidecar.yaml`.
///
/// Build one with ``load(path:environment:)``, which reports every problem in the file at once.
package struct SidecarConfiguration: Sendable {
    package var listen: ListenAddress
    package var server: ServerSettings
    package var providers: [String: ProviderConfiguration]
    package var models: ModelCatalog
    /// Default prices besides the built-in table (`pricing:`).
    package var pricing = PricingSettings()
    /// Task type → candidate models (`routes:`), used by `model: "auto"`.
    package var routes: [String: RouteConfiguration]
    package var resilience: ResilienceSettings
    package var quotas: QuotaSettings
    /// Applications allowed to call, by token; empty: anonymous local callers (client `default`).
    package var clients: [ClientSettings]
    package var usage: UsageSettings
    /// Where audit lines go (`audit.sink`); `nil`: with the usage lines.
    package var auditSink: UsageSettings.Sink?
    /// A second listener for `/metrics`, `/healthz` and `/readyz` (`metrics.listen`), for
    /// Prometheus and kubelet probes, which reach the pod's IP rather than loopback; `nil`: none
    /// (the main listener serves those paths too).
    package var metricsListen: ListenAddress?
    /// The provider that receives `/v1/*` requests the sidecar does not handle itself, if any.
    package var passthroughProvider: String?
    /// `responses:` (conversation state of the Responses API; read at start-up).
    package var responses = ResponsesSettings()
    /// `store:` (the Redis server a fleet shares; `nil`: everything stays in this process).
    package var store: StoreSettings?
    package var log: LogSettings
    /// `sha256:` and the first 16 hexadecimal digits of the file's SHA-256, to tell versions apart
    /// in logs, `/readyz` and audit lines.
    package var fingerprint = ""
    /// Facts worth a start-up warning that do not stop the sidecar (e.g. a provider without its key).
    package var warnings: [String]
}

/// Where the sidecar accepts connections.
package struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    package var host: String
    package var port: Int

    /// Parses `HOST:PORT` (`127.0.0.1:8080`, `[::1]:8080`, `localhost:0`).
    package init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    package var description: String { self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)" }
}

/// Inbound HTTP server settings (`server:`).
package struct ServerSettings: Sendable {
    /// The largest request body accepted; larger bodies get 413 (default 8 MiB).
    package var maxRequestBodyBytes = 8 << 20
    /// NIO event-loop threads serving clients; `nil` means automatic: one per available core
    /// (NIO honours cgroup CPU limits) and at most 2, because a sidecar shares its pod's CPU.
    package var eventLoopThreads: Int?

    /// From a request's first byte until it is complete; slower clients get 408 (default 30 s).
    package var requestReadTimeout: Duration = .seconds(30)
    /// A connection with no request and no traffic for this long is closed (default 5 min).
    package var idleTimeout: Duration = .seconds(300)
    /// Streams admitted at once, from admission (before the provider is called) until the
    /// relay ended; more get 503 `too_many_streams` (default 2000, ≈ 42 KB each).
    package var maxStreams = 2000
    /// Open client connections; beyond it a new connection gets 503 `too_many_connections` and
    /// is closed (default 4096; at least `max_streams`, since each stream holds one).
    package var maxConnections = 4096
    /// Bytes held in memory at once, process-wide, by request bodies being read and provider
    /// answers being collected (not streamed); a request that would exceed it gets 503
    /// `buffer_budget_exhausted` with `Retry-After: 1`. Default 40 MiB: one answer of the 32 MiB
    /// maximum fits, and at about 3 bytes of memory per buffered byte while an answer is
    /// translated (≈ 125 MiB), plus 36 MiB base and 2000 streams × 42 KB, the 256 MiB pod limit holds.
    package var maxBufferedBytes = 40 << 20
    /// After SIGTERM: how long the sidecar keeps accepting connections while reporting not ready,
    /// so endpoints and load balancers stop sending first (default 0 s; 3 s in Kubernetes).
    package var shutdownDelay: Duration = .zero
    /// After that: how long in-flight requests and streams may run before they are ended with an
    /// error (default 30 s). Keep `terminationGracePeriodSeconds` above the sum.
    package var drainTimeout: Duration = .seconds(30)
}

/// Where usage lines go (`usage:`).
package struct UsageSettings: Sendable {
    package enum Sink: Sendable, Hashable {
        case standardOutput
        case standardError
        case file(String)
    }

    package var sink: Sink = .standardOutput
    /// Fields added to every usage line, in order (e.g. the pod name from the downward API).
    package var labels: [(name: String, value: String)] = []
}

/// Diagnostic logging (`log:`), written to standard error.
package struct LogSettings: Sendable {
    package enum Format: String, Sendable, CaseIterable {
        case json
        case text
    }

    package var level: Logger.Level = .info
    package var format: Format = .json
}
