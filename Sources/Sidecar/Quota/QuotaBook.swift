//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The sidecar's quota ledger behind a lock, shared by every request and kept across reloads;
/// its committed day and month windows are saved to `quotas.state_file` so a restart does not
/// forget what was spent.
final class QuotaBook: QuotaKeeper {
    private struct State: Sendable {
        var ledger: QuotaLedger
        /// Committed use changed since the last save.
        var dirty = false
    }

    private let state: Mutex<State>

    /// - Parameter windows: committed windows to start from (read from the state file).
    init(windows: [QuotaLedger.Key: QuotaLedger.Window] = [:]) {
        self.state = Mutex(State(ledger: QuotaLedger(windows: windows)))
    }

    func reserve(_ demand: QuotaLedger.Demand, settings: QuotaSettings, client: String) -> Result<QuotaTicket, ProxyError> {
        self.reserve(demand, settings: settings, client: client, onSettle: { _ in })
    }

    /// ``reserve(_:settings:client:)`` that also hands what the request is charged, per limit,
    /// to `onSettle` when it settles (the fleet's ledger adds it to the store later).
    func reserve(
        _ demand: QuotaLedger.Demand,
        settings: QuotaSettings,
        client: String,
        onSettle: @escaping @Sendable ([QuotaLedger.Key: Int64]) -> Void
    ) -> Result<QuotaTicket, ProxyError> {
        let scopes = settings.scopes(for: client)
        guard !scopes.isEmpty else { return .success(QuotaTicket()) }
        let now = Self.now()
        let result = self.state.withLock { state in
            state.ledger.utcOffsetSeconds = settings.utcOffsetSeconds
            return state.ledger.reserve(demand, scopes: scopes, now: now)
        }
        switch result {
        case .success(let reservation):
            return .success(
                QuotaTicket { actual in
                    onSettle(self.settle(reservation, actual: actual))
                }
            )
        case .failure(let denial): return .failure(Self.error(for: denial))
        }
    }

    /// Settles `reservation`, returning what it charged per limit.
    private func settle(_ reservation: QuotaLedger.Reservation, actual: QuotaLedger.Demand) -> [QuotaLedger.Key: Int64] {
        let now = Self.now()
        return self.state.withLock { state in
            state.dirty = true
            return state.ledger.settle(reservation, actual: actual, now: now)
        }
    }

    /// The committed windows when they changed since the last call, for saving.
    func takeChangedWindows() -> [QuotaLedger.Key: QuotaLedger.Window]? {
        self.state.withLock { state in
            guard state.dirty else { return nil }
            state.dirty = false
            return state.ledger.windows
        }
    }

    func remaining(settings: QuotaSettings, clients: [String]) -> [(key: QuotaLedger.Key, remaining: Int64)] {
        let now = Self.now()
        return self.state.withLock { state in
            QuotaLedger.configuredLimits(settings, clients: clients).map { key, limit in
                (key, limit - state.ledger.used(key, now: now) - state.ledger.reservedAmount(key))
            }
        }
    }

    static func error(for denial: QuotaLedger.Denial) -> ProxyError {
        let limit: String
        switch denial.key.kind {
        case .costPerDay, .costPerMonth: limit = Money(picos: denial.limit).description
        case .requestsPerMinute, .tokensPerMinute: limit = String(denial.limit)
        }
        let scope = denial.key.scope == "global" ? "the sidecar's global" : "client '\(denial.key.scope.dropFirst("client:".count))'"
        var error = ProxyError(
            .quotaExceeded,
            "Quota exceeded: \(scope) \(denial.key.kind) limit of \(limit) would be passed by this request; it resets in \(denial.retryAfterSeconds) s."
        )
        error.retryAfter = .seconds(denial.retryAfterSeconds)
        return error
    }

    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec)
    }
}
