//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Synchronization

/// A process-wide amount of something bounded — stream slots (`server.max_streams`), buffered
/// bytes (`server.max_buffered_bytes`) — that requests reserve *before* they use it and give back
/// when they are done, so a burst cannot overshoot the limit: the check and the increment are one
/// compare-and-swap.
///
/// The limit comes with each reservation, so a configuration reload applies to the next one;
/// what is already held stays held (a lowered limit refuses new reservations until the total
/// falls below it).
final class CapacityPool: Sendable {
    private let used = Atomic(0)

    /// The amount reserved now.
    var inUse: Int { self.used.load(ordering: .relaxed) }

    /// A claim on `amount`, or `nil` (and nothing reserved) when the total would exceed `limit`.
    func claim(_ amount: Int = 1, limit: Int) -> CapacityClaim? {
        guard self.reserve(amount, limit: limit) else { return nil }
        return CapacityClaim(pool: self, holding: amount)
    }

    /// A claim holding nothing yet, to ``CapacityClaim/grow(by:limit:)`` as bytes arrive.
    func emptyClaim() -> CapacityClaim {
        CapacityClaim(pool: self, holding: 0)
    }

    /// Adds `amount` when the total stays within `limit`.
    fileprivate func reserve(_ amount: Int, limit: Int) -> Bool {
        var current = self.used.load(ordering: .relaxed)
        while true {
            guard amount <= limit - current else { return false }
            let (exchanged, found) = self.used.compareExchange(
                expected: current,
                desired: current + amount,
                ordering: .acquiringAndReleasing
            )
            if exchanged { return true }
            current = found
        }
    }

    fileprivate func giveBack(_ amount: Int) {
        self.used.subtract(amount, ordering: .acquiringAndReleasing)
    }
}

/// What one request holds of a ``CapacityPool``. It can grow (bytes reserved as they arrive) and
/// is given back exactly once: by ``release()``, or, on any path that forgot to, when the last
/// reference goes (an error thrown before a stream started, a response dropped unwritten).
final class CapacityClaim: Sendable {
    private let pool: CapacityPool
    /// The amount held; `nil` once released.
    private let held: Mutex<Int?>

    fileprivate init(pool: CapacityPool, holding amount: Int) {
        self.pool = pool
        self.held = Mutex(amount)
    }

    /// The amount held now (0 once released).
    var amount: Int { self.held.withLock { $0 ?? 0 } }

    /// Reserves `amount` more; `false` (nothing added) when the pool's total would exceed `limit`
    /// or the claim was already released.
    func grow(by amount: Int, limit: Int) -> Bool {
        self.held.withLock { held in
            guard let current = held, self.pool.reserve(amount, limit: limit) else { return false }
            held = current + amount
            return true
        }
    }

    /// Gives everything back. Safe to call more than once.
    func release() {
        let amount = self.held.withLock { held in
            defer { held = nil }
            return held ?? 0
        }
        if amount > 0 { self.pool.giveBack(amount) }
    }

    deinit {
        self.release()
    }
}
