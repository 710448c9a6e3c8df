//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// `store:`: the Redis (or Valkey) server every pod of a fleet shares for quotas, usage
/// statistics and stored Responses. Without it, all of these stay in the process. Read at
/// start-up, except the password, which a reload re-reads (the next connection uses it).
package struct StoreSettings: Sendable, Hashable {
    /// What a request meets while the store cannot be reached or answers too slowly.
    package enum FailurePolicy: String, Sendable, Hashable, CaseIterable {
        /// The in-process ledger with the same limits (per pod); its use is added to the fleet's
        /// when the store is back. The default.
        case local
        /// Requests under a quota are refused (503 `quota_store_unavailable`).
        case deny
        /// Requests are admitted without a quota check.
        case allow
    }

    package var host: String
    /// Whether the URL is `rediss://`: TLS 1.2 or later, the server's certificate verified against
    /// ``caFile`` (else the system's trusted certificates) and checked to be for ``host``.
    package var tls = false
    /// `ca_file` (only with `rediss://`): a PEM bundle of the certificates to trust instead of the
    /// system's, e.g. a private CA's. Read at start-up.
    package var caFile: String?
    /// 6379 unless the URL names another.
    package var port = 6379
    /// The database number of the URL's path (`/0` to `/15` on a default server).
    package var database = 0
    /// The ACL user: `username:` or the URL's user; `nil` logs in as `default`.
    package var username: String?
    /// Where the password comes from: `password_env` or `password_file` (re-read on reload).
    package var passwordSource: KeySource?
    /// The password: read from ``passwordSource`` at load and on every reload, else the URL's.
    package var password: Secret?
    /// `connect_timeout` (default 250ms): the longest a connection attempt waits.
    package var connectTimeout: Duration = .milliseconds(250)
    /// `timeout` (default 100ms): the longest a request waits for one round trip to the store —
    /// Redis answers in well under a millisecond on the pod network; the rest is room for a
    /// sidecar whose own event loops are busy.
    package var timeout: Duration = .milliseconds(100)
    /// `key_prefix` (default `llm-sidecar:`): put before every key, so several fleets can share a
    /// server. At most 64 printable ASCII characters.
    package var keyPrefix = "llm-sidecar:"
    /// `on_store_failure` (default `local`).
    package var onFailure = FailurePolicy.local
    /// `reservation_ttl` (default 15m, 10s to 24h): how long a quota reservation outlives a pod
    /// that never settles it (killed with `SIGKILL`). A request running longer keeps working;
    /// only its reservation stops counting.
    package var reservationTTL: Duration = .seconds(900)

    package init(host: String) {
        self.host = host
    }

    /// These settings with no password: what a reload compares (a new password is used by the
    /// next connection; anything else takes a restart).
    package var withoutPassword: StoreSettings {
        var settings = self
        settings.password = nil
        return settings
    }

    package static let keys: Set<String> = [
        "url", "username", "password_env", "password_file", "connect_timeout", "timeout", "key_prefix", "on_store_failure", "reservation_ttl",
        "ca_file",
    ]
}
