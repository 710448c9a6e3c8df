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
final class QuotaBook: Sendable {
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

    /// Reserves a request's worst case, or answers why not (429 `quota_exceeded`).
    func reserve(_ demand: QuotaLedger.Demand, settings: QuotaSettings, client: String) -> Result<QuotaTicket, ProxyError> {
        let scopes = settings.scopes(for: client)
        guard !scopes.isEmpty else { return .success(QuotaTicket(book: nil, reservation: nil)) }
        let now = Self.now()
        let result = self.state.withLock { state in
            state.ledger.utcOffsetSeconds = settings.utcOffsetSeconds
            return state.ledger.reserve(demand, scopes: scopes, now: now)
        }
        switch result {
        case .success(let reservation): return .success(QuotaTicket(book: self, reservation: reservation))
        case .failure(let denial): return .failure(Self.error(for: denial))
        }
    }

    fileprivate func settle(_ reservation: QuotaLedger.Reservation, actual: QuotaLedger.Demand) {
        let now = Self.now()
        self.state.withLock { state in
            state.ledger.settle(reservation, actual: actual, now: now)
            state.dirty = true
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

    /// What is left of each limit now, for metrics: limit − committed − reserved.
    func remaining(settings: QuotaSettings, clients: [String]) -> [(key: QuotaLedger.Key, remaining: Int64)] {
        let now = Self.now()
        return self.state.withLock { state in
            var result: [(QuotaLedger.Key, Int64)] = []
            for (scope, limits) in [("global", settings.global)] + clients.map({ ("client:\($0)", settings.clients[$0] ?? .init()) }) {
                var entries: [(QuotaLedger.Kind, Int64)] = []
                if let requests = limits.requestsPerMinute { entries.append((.requestsPerMinute, Int64(requests))) }
                if let tokens = limits.tokensPerMinute { entries.append((.tokensPerMinute, Int64(tokens))) }
                for (currency, limit) in limits.costPerDay { entries.append((.costPerDay(currency: currency), limit.picos)) }
                for (currency, limit) in limits.costPerMonth { entries.append((.costPerMonth(currency: currency), limit.picos)) }
                for (kind, limit) in entries {
                    let key = QuotaLedger.Key(scope: scope, kind: kind)
                    result.append((key, limit - state.ledger.used(key, now: now) - state.ledger.reservedAmount(key)))
                }
            }
            return result
        }
    }

    private static func error(for denial: QuotaLedger.Denial) -> ProxyError {
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

/// An admitted request's hold on the quotas. Settled once with what the request used — by the
/// usage sink, from the request's one usage record — or, if that never happens, released as
/// unused when the ticket goes away.
final class QuotaTicket: Sendable {
    private let book: QuotaBook?
    private let reservation: Mutex<QuotaLedger.Reservation?>

    fileprivate init(book: QuotaBook?, reservation: QuotaLedger.Reservation?) {
        self.book = book
        self.reservation = Mutex(reservation)
    }

    func settle(tokens: Int, cost: Money?, currency: String?) {
        guard let reservation = self.reservation.withLock({ $0.take() }) else { return }
        var costs: [String: Money] = [:]
        if let cost, let currency { costs[currency] = cost }
        self.book?.settle(reservation, actual: QuotaLedger.Demand(tokens: tokens, costs: costs))
    }

    deinit {
        self.settle(tokens: 0, cost: nil, currency: nil)
    }
}
