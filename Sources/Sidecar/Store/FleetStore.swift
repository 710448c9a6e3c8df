//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOPosix
import SidecarModel

/// The store every pod of a fleet shares (`store:`): one Redis client, its health and the
/// queue of writes no client waits for, used by the quota ledger, the usage statistics and the
/// Responses store.
struct FleetStore: Sendable {
    let settings: StoreSettings
    let client: RedisClient
    let health: StoreHealth
    let writes: StoreWriteQueue

    /// - Parameter password: the password now, read on every (re)connect so a rotated one is used.
    /// - Throws: ``TLSFailure`` when TLS (`rediss://`) cannot be set up: `ca_file` is not a bundle
    ///   OpenSSL can load.
    init(settings: StoreSettings, audit: AuditLog, password: @escaping @Sendable () -> String?) throws(TLSFailure) {
        self.settings = settings
        let username = settings.username
        let tls = settings.tls ? try TLSClientContext(caFile: settings.caFile) : nil
        self.client = RedisClient(
            endpoint: RedisEndpoint(host: settings.host, port: settings.port, database: settings.database, tls: tls) { (username, password()) },
            connectTimeout: settings.connectTimeout,
            timeout: settings.timeout,
            group: MultiThreadedEventLoopGroup.singleton
        )
        self.health = StoreHealth(audit: audit)
        self.writes = StoreWriteQueue(client: self.client, health: self.health)
    }

    /// `key` under the configured `key_prefix`.
    func key(_ key: String) -> String { self.settings.keyPrefix + key }
}
