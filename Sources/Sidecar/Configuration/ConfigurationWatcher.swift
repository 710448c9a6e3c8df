//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import ServiceLifecycle
import SidecarModel
import Synchronization
import Translate
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// Reloads the configuration when its file, a key file or the price catalog changes, or on SIGHUP.
///
/// Files are checked every second by what their path resolves to (device, inode, size and
/// modification time), so the symlink swap with which Kubernetes updates a mounted ConfigMap or
/// Secret is seen like an edit in place. A new snapshot serves the requests that start after
/// it; requests and streams in flight keep the snapshot they started with, and deployment
/// health carries over. An invalid file is logged with every problem and changes nothing.
///
/// The start-up rule holds on every reload: a file without `clients:` is rejected while the
/// sidecar listens beyond loopback — whether that address came from the file, `--listen` or
/// `SIDECAR_LISTEN` — so a reload can never open the sidecar to the network.
final class ConfigurationWatcher: Service, Sendable {
    let path: String
    /// Where the main server listens (set at start-up; `listen` changes need a restart).
    let listen: ListenAddress
    private let store: RuntimeStore
    private let network: any UpstreamClient
    private let metrics: SidecarMetrics
    private let audit: AuditLog
    private let logger: Logger
    /// The identities of the watched files as last seen; also serialises reloads.
    private let seen: Mutex<[String: FileIdentity?]>

    static let interval: Duration = .seconds(1)

    init(
        path: String,
        listen: ListenAddress,
        store: RuntimeStore,
        network: any UpstreamClient,
        metrics: SidecarMetrics,
        audit: AuditLog,
        logger: Logger
    ) {
        self.path = path
        self.listen = listen
        self.store = store
        self.network = network
        self.metrics = metrics
        self.audit = audit
        self.logger = logger
        self.seen = Mutex(Self.identities(of: Self.watchedFiles(path, store.current.configuration)))
    }

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        try? await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in hangups { self.reload(reason: "SIGHUP") }
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: Self.interval)
                        self.reloadIfChanged()
                    }
                }
                try await group.next()
            }
        }
    }

    /// Reloads when a watched file changed since the last look.
    func reloadIfChanged() {
        let files = Self.watchedFiles(self.path, self.store.current.configuration)
        let now = Self.identities(of: files)
        guard self.seen.withLock({ $0 != now }) else { return }
        self.reload(reason: "file changed")
    }

    /// Loads the file and, when it is valid, serves it from the next request on.
    func reload(reason: String) {
        self.seen.withLock { seen in
            let previous = self.store.current
            let configuration: SidecarConfiguration
            do {
                configuration = try SidecarConfiguration.load(path: self.path)
                if let problem = configuration.exposureProblem(of: self.listen) {
                    throw ConfigurationError(problems: [ConfigurationProblem(file: self.path, field: "clients", message: problem)])
                }
            } catch {
                seen = Self.identities(of: Self.watchedFiles(self.path, previous.configuration))
                self.metrics.configurationReloaded(applied: false)
                self.audit.record("config_rejected", ["reason": .string(reason), "file": .string(self.path), "error": .string("\(error)")])
                self.logger.error(
                    "configuration reload rejected; the previous configuration keeps serving",
                    metadata: ["reason": "\(reason)", "error": "\(error)"]
                )
                return
            }
            seen = Self.identities(of: Self.watchedFiles(self.path, configuration))
            self.store.replace(
                with: RuntimeSnapshot(
                    configuration: configuration,
                    network: self.network,
                    registry: previous.registry,
                    retired: previous.scrubber.secrets
                )
            )
            self.metrics.configurationReloaded(applied: true)
            let changes = configuration.changes(since: previous.configuration)
            var fields = configuration.auditFields(path: self.path)
            fields["reason"] = .string(reason)
            fields["changes"] = .array(changes.applied.map(JSONValue.string))
            self.audit.record("config_reloaded", fields)
            for provider in configuration.providers.values.sorted(by: { $0.name < $1.name })
            where previous.configuration.providers[provider.name].map({ $0.apiKeys != provider.apiKeys }) ?? false {
                self.audit.record(
                    "keys_changed",
                    [
                        "provider": .string(provider.name), "sources": .array(provider.keySources.map { .string($0.hint) }),
                        "keys": .number(JSONNumber(provider.apiKeys.count)),
                    ]
                )
            }
            self.logger.notice(
                "configuration reloaded",
                metadata: [
                    "reason": "\(reason)", "configuration": "\(configuration.fingerprint)",
                    "changes": "\(changes.applied.isEmpty ? "none" : changes.applied.joined(separator: "; "))",
                ]
            )
            for setting in changes.needRestart {
                self.logger.warning("a changed setting takes effect only after a restart", metadata: ["setting": "\(setting)"])
            }
            for warning in configuration.warnings { self.logger.warning("\(warning)") }
        }
    }

    /// The configuration file, every key file it names, and the price catalog.
    private static func watchedFiles(_ path: String, _ configuration: SidecarConfiguration) -> [String] {
        let sources = configuration.providers.values.flatMap(\.keySources) + [configuration.store?.passwordSource].compactMap { $0 }
        let keyFiles = sources.compactMap { source -> String? in
            if case .file(let file) = source { return file }
            return nil
        }
        return [path] + keyFiles.sorted() + [configuration.pricing.catalog.path].compactMap { $0 }
    }

    private static func identities(of files: [String]) -> [String: FileIdentity?] {
        Dictionary(uniqueKeysWithValues: files.map { ($0, FileIdentity(path: $0)) })
    }
}

/// What a path resolves to now: a swapped symlink or a rewritten file changes it.
struct FileIdentity: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Int64

    /// `nil` when the file does not exist (a missing key file is a state too).
    init?(path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        self.device = UInt64(status.st_dev)
        self.inode = UInt64(status.st_ino)
        self.size = Int64(status.st_size)
        self.modified = Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec)
    }
}
