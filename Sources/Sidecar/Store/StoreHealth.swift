//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Synchronization
import Translate

/// Whether the fleet's store answers, shared by everything that uses it.
///
/// After a failed round trip the store is *unavailable*: requests take the
/// `on_store_failure` path at once instead of each waiting out the timeout, and one request per
/// ``probeInterval`` (1 s) tries the store again. The first round trip that succeeds makes it
/// available again. Every transition writes an audit line (`store_unavailable`,
/// `store_available`) and counts in `llm_sidecar_store_transitions_total{to}`; the state is
/// `llm_sidecar_store_available` (1 or 0).
final class StoreHealth: Sendable {
    static let probeInterval: Duration = .seconds(1)

    private struct State {
        var available = true
        var lastAttempt: ContinuousClock.Instant?
        var becameUnavailable = 0
        var becameAvailable = 0
    }

    private let state = Mutex(State())
    private let audit: AuditLog

    init(audit: AuditLog) {
        self.audit = audit
    }

    var isAvailable: Bool { self.state.withLock { $0.available } }

    /// Whether a request should try the store now: always while it is available; while it is
    /// not, one caller per ``probeInterval``.
    func shouldTry(now: ContinuousClock.Instant = .now) -> Bool {
        self.state.withLock { state in
            if state.available { return true }
            if let last = state.lastAttempt, now - last < Self.probeInterval { return false }
            state.lastAttempt = now
            return true
        }
    }

    /// Records a round trip's outcome; `true` when this made the store available again.
    @discardableResult
    func record(success: Bool, error: RedisError? = nil) -> Bool {
        let changed = self.state.withLock { state in
            guard state.available != success else { return false }
            state.available = success
            state.lastAttempt = .now
            if success { state.becameAvailable += 1 } else { state.becameUnavailable += 1 }
            return true
        }
        guard changed else { return false }
        var fields: JSONObject = [:]
        if let error { fields = ["code": .string(error.code), "message": .string(error.message)] }
        self.audit.record(success ? "store_available" : "store_unavailable", fields)
        return success
    }

    /// Whether the store answers now, and how many times it became unavailable and available.
    var snapshot: (available: Bool, becameUnavailable: Int, becameAvailable: Int) {
        self.state.withLock { ($0.available, $0.becameUnavailable, $0.becameAvailable) }
    }
}
