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

/// The quota ledger of the whole fleet, on the `store:` every pod shares: the semantics of
/// ``QuotaLedger`` (reserve the worst case, settle what was used, release on failure), each
/// step one script run atomically on the server — one round trip to reserve, one to settle
/// (sent after the answer, never waited on by the client).
///
/// While the store cannot be reached (``StoreHealth``), `on_store_failure` decides: `local`
/// reserves in this pod's ``QuotaBook`` with the same limits and keeps what those requests
/// spent per day and month in the ``FleetQuotaBacklog``, written when the store is back; `deny`
/// refuses requests under a quota (503 `quota_store_unavailable`, `Retry-After: 1`); `allow`
/// admits them unchecked.
final class FleetQuotaBook: QuotaKeeper {
    let settings: StoreSettings
    private let client: RedisClient
    private let health: StoreHealth
    private let writes: StoreWriteQueue
    private let local: QuotaBook
    /// This process's prefix for reservation ids (random, 64 bits) and the next number.
    private let identity: String
    private let sequence = Atomic<Int>(0)
    /// What to write when the store is back.
    private let backlog = Mutex(FleetQuotaBacklog())

    init(store: FleetStore, local: QuotaBook) {
        self.settings = store.settings
        self.client = store.client
        self.health = store.health
        self.writes = store.writes
        self.local = local
        var random = SystemRandomNumberGenerator()
        self.identity = String(random.next() as UInt64, radix: 16)
    }

    func reserve(_ demand: QuotaLedger.Demand, settings: QuotaSettings, client: String) async -> Result<QuotaTicket, ProxyError> {
        let ledger = QuotaLedger(utcOffsetSeconds: settings.utcOffsetSeconds)
        let limits = settings.scopes(for: client).flatMap { scope, limits in
            ledger.limits(limits, demand: demand).map { (key: QuotaLedger.Key(scope: scope, kind: $0.0), limit: $0.1, amount: $0.2) }
        }
        guard !limits.isEmpty else { return .success(QuotaTicket()) }
        guard self.health.shouldTry() else { return self.fallback(demand, settings: settings, client: client) }
        let now = QuotaBook.now()
        let id = "\(self.identity)-\(self.sequence.wrappingAdd(1, ordering: .relaxed).newValue)"
        let ttl = Int64((self.settings.reservationTTL / .milliseconds(1)).rounded())
        let milliseconds = Self.milliseconds()
        var arguments = [String(milliseconds), String(milliseconds + ttl), id, String(ttl)]
        for limit in limits {
            // An amount above its limit is refused anyway; capping it keeps the sums in range.
            arguments += [String(limit.limit), String(min(limit.amount, QuotaLedger.sum(limit.limit, 1)))]
        }
        let keys = limits.flatMap { self.keys(of: $0.key, ledger: ledger, now: now) }
        let index: Int64
        do {
            index = try await self.runOne(Self.reserveScript, keys: keys, arguments: arguments)
        } catch {
            // The script may still have run after the timeout: release what it may hold.
            self.settle(id, limits: limits.map(\.key), actual: nil, ledger: ledger)
            return self.fallback(demand, settings: settings, client: client)
        }
        guard index == 0 else {
            let refused = limits[Int(max(1, min(index, Int64(limits.count)))) - 1]
            let denial = QuotaLedger.Denial(
                key: refused.key,
                limit: refused.limit,
                retryAfterSeconds: ledger.secondsUntilReset(refused.key.kind, now: now)
            )
            return .failure(QuotaBook.error(for: denial))
        }
        let held = limits.map(\.key)
        return .success(
            QuotaTicket { actual in
                self.settle(id, limits: held, actual: actual, ledger: ledger)
            }
        )
    }

    func remaining(settings: QuotaSettings, clients: [String]) async -> [(key: QuotaLedger.Key, remaining: Int64)] {
        let local = self.local.remaining(settings: settings, clients: clients)
        guard self.health.isAvailable, !local.isEmpty else { return local }
        let ledger = QuotaLedger(utcOffsetSeconds: settings.utcOffsetSeconds)
        let now = QuotaBook.now()
        let limits = QuotaLedger.configuredLimits(settings, clients: clients)
        let commands = limits.flatMap { limit -> [[RedisArgument]] in
            let keys = self.keys(of: limit.key, ledger: ledger, now: now)
            return [["GET", RedisArgument(keys[0])], ["GET", RedisArgument(keys[3])]]
        }
        guard let replies = try? await self.client.pipeline(commands), replies.count == limits.count * 2 else { return local }
        return limits.enumerated().map { index, limit in
            let used = Self.integer(replies[index * 2]) + Self.integer(replies[index * 2 + 1])
            return (limit.key, limit.limit - used)
        }
    }

    /// Runs `script` and reads its integer reply; a failure marks the store unavailable.
    private func runOne(_ script: RedisScript, keys: [String], arguments: [String]) async throws(RedisError) -> Int64 {
        do throws(RedisError) {
            let replies = try await self.client.run([(script: script, keys: keys, arguments: arguments)])
            guard case .integer(let value) = replies.first else {
                throw RedisError(code: "store_error", message: "unexpected reply to a quota script: \(String(describing: replies.first).prefix(200))")
            }
            self.health.record(success: true)
            self.reconcile()
            return value
        } catch {
            self.health.record(success: false, error: error)
            throw error
        }
    }

    /// Queues the settle script; if it cannot run, the charge and the release wait in the
    /// backlog. Without `actual` it only releases the reservation (one whose reply never came).
    private func settle(_ id: String, limits: [QuotaLedger.Key], actual: QuotaLedger.Demand?, ledger: QuotaLedger) {
        let now = QuotaBook.now()
        let charges = limits.map { key in (key: key, charge: actual.map { QuotaLedger.charge(of: key.kind, actual: $0) } ?? 0) }
        let keys = limits.flatMap { self.keys(of: $0, ledger: ledger, now: now) }
        let release = FleetQuotaBacklog.Release(keys: keys, arguments: [id] + limits.flatMap { ["0", String(Self.usedKeySeconds($0.kind))] })
        var arguments = [id]
        for (key, charge) in charges { arguments += [String(charge), String(Self.usedKeySeconds(key.kind))] }
        let owed = Dictionary(charges.map { ($0.key, $0.charge) }, uniquingKeysWith: +)
        self.writes.enqueue(
            StoreWriteQueue.Call(script: Self.settleScript, keys: keys, arguments: arguments) { succeeded in
                guard !succeeded else { return }
                self.remember(owed, ledger: ledger, now: now)
                self.backlog.withLock { $0.add(release: release, id: id) }
            }
        )
    }

    /// The `on_store_failure` path for a request the store could not take.
    private func fallback(_ demand: QuotaLedger.Demand, settings: QuotaSettings, client: String) -> Result<QuotaTicket, ProxyError> {
        switch self.settings.onFailure {
        case .allow:
            return .success(QuotaTicket())
        case .deny:
            var error = ProxyError(
                .quotaStoreUnavailable,
                "The fleet's quota store cannot be reached and store.on_store_failure is deny; retry shortly."
            )
            error.retryAfter = .seconds(1)
            return .failure(error)
        case .local:
            let ledger = QuotaLedger(utcOffsetSeconds: settings.utcOffsetSeconds)
            return self.local.reserve(demand, settings: settings, client: client) { charges in
                self.remember(charges, ledger: ledger, now: QuotaBook.now())
            }
        }
    }

    /// Keeps the cost charged while the store was away, to add to the fleet's windows later.
    /// Per-minute counts are not kept: their window is over by the time they could be added.
    private func remember(_ charges: [QuotaLedger.Key: Int64], ledger: QuotaLedger, now: Int64) {
        self.backlog.withLock { backlog in
            for (key, charge) in charges {
                switch key.kind {
                case .requestsPerMinute, .tokensPerMinute: continue
                case .costPerDay, .costPerMonth:
                    backlog.add(charge, to: self.keys(of: key, ledger: ledger, now: now)[0], seconds: Self.usedKeySeconds(key.kind))
                }
            }
        }
    }

    /// Queues the backlog: what was spent while the store was away, and the releases owed.
    private func reconcile() {
        let backlog = self.backlog.withLock { backlog in
            defer { backlog = FleetQuotaBacklog() }
            return backlog
        }
        guard !backlog.isEmpty else { return }
        for (id, release) in backlog.releases {
            self.writes.enqueue(
                StoreWriteQueue.Call(script: Self.settleScript, keys: release.keys, arguments: release.arguments) { succeeded in
                    if !succeeded { self.backlog.withLock { $0.add(release: release, id: id) } }
                }
            )
        }
        let entries = backlog.charges.sorted { $0.key < $1.key }
        guard !entries.isEmpty else { return }
        self.writes.enqueue(
            StoreWriteQueue.Call(
                script: Self.reconcileScript,
                keys: entries.map(\.key),
                arguments: entries.flatMap { [String($0.value.charge), String($0.value.seconds)] }
            ) { succeeded in
                guard !succeeded else { return }
                self.backlog.withLock { current in
                    for (used, entry) in entries { current.add(entry.charge, to: used, seconds: entry.seconds) }
                }
            }
        )
    }

    /// Unix time in milliseconds: reservations expire to the millisecond on every pod's clock.
    private static func milliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000 + Int64(time.tv_nsec) / 1_000_000
    }

    private static func integer(_ reply: RESPValue) -> Int64 {
        switch reply {
        case .integer(let value): value
        case .bulkString(let bytes?): Int64(String(decoding: bytes, as: UTF8.self)) ?? 0
        default: 0
        }
    }
}
