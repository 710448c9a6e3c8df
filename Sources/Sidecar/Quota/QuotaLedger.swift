//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

/// The quota state machine: committed use per window and reservations in flight, for every
/// scope (`global`, `client:<name>`) and kind of limit.
///
/// A request is admitted only if, for every limit that applies, committed use in the current
/// window + everything reserved by requests in flight + its own worst case fits. Its worst
/// case is then reserved; when it ends, the reservation is replaced by what it actually used
/// (nothing, if it failed). So concurrent requests can never together exceed a limit by more
/// than the error of one worst-case estimate.
///
/// Windows are fixed: the UTC minute, and the calendar day and month at the configured UTC
/// offset. Use committed after a window rolled over counts in the new window. A value type
/// that never reads a clock: every call takes the current Unix time, so tests use explicit
/// instants.
struct QuotaLedger: Sendable {
    /// What a limit counts.
    enum Kind: Hashable, Sendable, CustomStringConvertible {
        case requestsPerMinute
        case tokensPerMinute
        case costPerDay(currency: String)
        case costPerMonth(currency: String)

        var description: String {
            switch self {
            case .requestsPerMinute: "requests_per_minute"
            case .tokensPerMinute: "tokens_per_minute"
            case .costPerDay(let currency): "cost_per_day (\(currency))"
            case .costPerMonth(let currency): "cost_per_month (\(currency))"
            }
        }
    }

    struct Key: Hashable, Sendable {
        var scope: String
        var kind: Kind
    }

    /// Committed use in one window: requests, tokens, or picounits of money.
    struct Window: Hashable, Sendable {
        var id: Int64
        var used: Int64
    }

    /// What a request may use at most (its worst case, per currency when its candidates are
    /// priced in several), or what it used.
    struct Demand: Sendable {
        var tokens: Int
        var costs: [String: Money] = [:]
    }

    /// What one admitted request holds, to settle when it ends.
    struct Reservation: Sendable {
        fileprivate(set) var amounts: [Key: Int64]
    }

    /// Why a request was refused, and when the limit resets.
    struct Denial: Error, Sendable {
        var key: Key
        var limit: Int64
        var retryAfterSeconds: Int64
    }

    private(set) var windows: [Key: Window] = [:]
    private var reserved: [Key: Int64] = [:]
    var utcOffsetSeconds: Int

    init(utcOffsetSeconds: Int = 0, windows: [Key: Window] = [:]) {
        self.utcOffsetSeconds = utcOffsetSeconds
        self.windows = windows
    }

    /// Reserves `demand` in every scope, or refuses it naming the first limit it would break.
    mutating func reserve(
        _ demand: Demand,
        scopes: [(scope: String, limits: QuotaSettings.Limits)],
        now: Int64
    ) -> Result<Reservation, Denial> {
        var amounts: [Key: Int64] = [:]
        for (scope, limits) in scopes {
            for (kind, limit, amount) in self.limits(limits, demand: demand) {
                let key = Key(scope: scope, kind: kind)
                let used = self.used(key, now: now)
                guard Self.sum(Self.sum(used, self.reserved[key, default: 0]), amount) <= limit else {
                    return .failure(Denial(key: key, limit: limit, retryAfterSeconds: self.secondsUntilReset(kind, now: now)))
                }
                amounts[key] = amount
            }
        }
        for (key, amount) in amounts { self.reserved[key] = Self.sum(self.reserved[key, default: 0], amount) }
        return .success(Reservation(amounts: amounts))
    }

    /// Ends a reservation: the request counts once, its reserved tokens and cost are replaced
    /// by what it actually used. Returns what was charged to each limit.
    @discardableResult
    mutating func settle(_ reservation: Reservation, actual: Demand, now: Int64) -> [Key: Int64] {
        var charges: [Key: Int64] = [:]
        for (key, amount) in reservation.amounts {
            self.reserved[key, default: 0] -= amount
            let charge = Self.charge(of: key.kind, actual: actual)
            self.add(charge, to: key, now: now)
            charges[key] = charge
        }
        return charges
    }

    /// What a request that used `actual` counts against a limit of `kind`.
    static func charge(of kind: Kind, actual: Demand) -> Int64 {
        switch kind {
        case .requestsPerMinute: 1
        case .tokensPerMinute: Int64(actual.tokens)
        case .costPerDay(let currency), .costPerMonth(let currency): actual.costs[currency]?.picos ?? 0
        }
    }

    /// Committed use of `key` in its current window.
    func used(_ key: Key, now: Int64) -> Int64 {
        guard let window = self.windows[key], window.id == self.windowID(key.kind, now: now) else { return 0 }
        return window.used
    }

    /// Use not yet committed: reserved by requests in flight.
    func reservedAmount(_ key: Key) -> Int64 { self.reserved[key, default: 0] }

    private mutating func add(_ amount: Int64, to key: Key, now: Int64) {
        let id = self.windowID(key.kind, now: now)
        var window = self.windows[key] ?? Window(id: id, used: 0)
        if window.id != id { window = Window(id: id, used: 0) }
        window.used = Self.sum(window.used, amount)
        self.windows[key] = window
    }

    /// Every limit configured for the global scope and `clients`, with its value.
    static func configuredLimits(_ settings: QuotaSettings, clients: [String]) -> [(key: Key, limit: Int64)] {
        var result: [(Key, Int64)] = []
        for (scope, limits) in [("global", settings.global)] + clients.map({ ("client:\($0)", settings.clients[$0] ?? .init()) }) {
            if let requests = limits.requestsPerMinute { result.append((Key(scope: scope, kind: .requestsPerMinute), Int64(requests))) }
            if let tokens = limits.tokensPerMinute { result.append((Key(scope: scope, kind: .tokensPerMinute), Int64(tokens))) }
            for (currency, limit) in limits.costPerDay { result.append((Key(scope: scope, kind: .costPerDay(currency: currency)), limit.picos)) }
            for (currency, limit) in limits.costPerMonth { result.append((Key(scope: scope, kind: .costPerMonth(currency: currency)), limit.picos)) }
        }
        return result
    }

    /// The limits of a scope that apply to `demand`, with the amount it needs of each.
    func limits(_ limits: QuotaSettings.Limits, demand: Demand) -> [(Kind, Int64, Int64)] {
        var applicable: [(Kind, Int64, Int64)] = []
        if let requests = limits.requestsPerMinute { applicable.append((.requestsPerMinute, Int64(requests), 1)) }
        if let tokens = limits.tokensPerMinute { applicable.append((.tokensPerMinute, Int64(tokens), Int64(demand.tokens))) }
        for (currency, cost) in demand.costs.sorted(by: { $0.key < $1.key }) {
            if let limit = limits.costPerDay[currency] { applicable.append((.costPerDay(currency: currency), limit.picos, cost.picos)) }
            if let limit = limits.costPerMonth[currency] { applicable.append((.costPerMonth(currency: currency), limit.picos, cost.picos)) }
        }
        return applicable
    }
}

extension QuotaLedger {
    static let secondsPerDay: Int64 = 86_400

    /// The window `now` falls in: the minute since the epoch, or the local day or month number.
    func windowID(_ kind: Kind, now: Int64) -> Int64 {
        let local = now + Int64(self.utcOffsetSeconds)
        switch kind {
        case .requestsPerMinute, .tokensPerMinute: return Self.floorDivide(now, 60)
        case .costPerDay: return Self.floorDivide(local, Self.secondsPerDay)
        case .costPerMonth:
            let (year, month, _) = CalendarDay(secondsSinceEpoch: local).components
            return Int64(year * 12 + month - 1)
        }
    }

    /// Seconds until the window of `kind` that holds `now` ends.
    func secondsUntilReset(_ kind: Kind, now: Int64) -> Int64 {
        let local = now + Int64(self.utcOffsetSeconds)
        switch kind {
        case .requestsPerMinute, .tokensPerMinute: return 60 - Self.floorModulo(now, 60)
        case .costPerDay: return Self.secondsPerDay - Self.floorModulo(local, Self.secondsPerDay)
        case .costPerMonth:
            let id = self.windowID(kind, now: now) + 1
            let firstOfNextMonth = CalendarDay(year: Int(Self.floorDivide(id, 12)), month: Int(Self.floorModulo(id, 12)) + 1, day: 1)
            return Int64(firstOfNextMonth?.daysSinceEpoch ?? 0) * Self.secondsPerDay - local
        }
    }

    /// `a + b`, saturating: a worst case or a reported cost too large to hold fills a limit
    /// instead of trapping or wrapping into a credit.
    static func sum(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : sum
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 { (a - Self.floorModulo(a, b)) / b }
    private static func floorModulo(_ a: Int64, _ b: Int64) -> Int64 { ((a % b) + b) % b }
}
