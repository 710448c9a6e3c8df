//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

/// The fleet ledger's keys and the two scripts that change them, each run atomically on the
/// server. Every limit a request is held to has four keys:
/// - `<prefix>quota:<scope>:<kind>:<window>`: committed use in one window (an integer; expires
///   one window after its own ends);
/// - `…:held` (sorted set: reservation id → expiry in ms), `…:held:amounts` (hash: id →
///   amount), `…:held:total` (the sum of live amounts): reservations in flight, which expire
///   `reservation_ttl` after they were made, so a pod killed before settling cannot hold
///   budget forever.
extension FleetQuotaBook {
    /// `KEYS`: four per limit (used, held, amounts, total); `ARGV`: now (ms), expiry (ms),
    /// reservation id, TTL of the held keys (ms), then limit and amount per limit. Drops expired
    /// reservations (at most 1,000 per limit per call), then admits only if every limit holds
    /// used + reserved + amount; returns 0 when reserved, else the 1-based index of the first
    /// limit that would be passed.
    static let reserveScript = RedisScript(
        """
        local now = tonumber(ARGV[1])
        local count = #KEYS / 4
        for i = 0, count - 1 do
          local held, amounts, total = KEYS[i * 4 + 2], KEYS[i * 4 + 3], KEYS[i * 4 + 4]
          for _, id in ipairs(redis.call('ZRANGEBYSCORE', held, '-inf', now, 'LIMIT', 0, 1000)) do
            local amount = redis.call('HGET', amounts, id)
            if amount then
              redis.call('DECRBY', total, amount)
              redis.call('HDEL', amounts, id)
            end
            redis.call('ZREM', held, id)
          end
          local used = tonumber(redis.call('GET', KEYS[i * 4 + 1]) or '0')
          local reserved = tonumber(redis.call('GET', total) or '0')
          if used + reserved + tonumber(ARGV[i * 2 + 6]) > tonumber(ARGV[i * 2 + 5]) then
            return i + 1
          end
        end
        for i = 0, count - 1 do
          local held, amounts, total = KEYS[i * 4 + 2], KEYS[i * 4 + 3], KEYS[i * 4 + 4]
          redis.call('ZADD', held, ARGV[2], ARGV[3])
          redis.call('HSET', amounts, ARGV[3], ARGV[i * 2 + 6])
          redis.call('INCRBY', total, ARGV[i * 2 + 6])
          for _, key in ipairs({held, amounts, total}) do redis.call('PEXPIRE', key, ARGV[4]) end
        end
        return 0
        """
    )

    /// `KEYS`: four per limit, as for ``reserveScript`` (the used key of the window now);
    /// `ARGV`: reservation id, then charge and TTL of the used key (s) per limit. Releases the
    /// reservation if it is still held (not expired) and adds the charge.
    static let settleScript = RedisScript(
        """
        for i = 0, #KEYS / 4 - 1 do
          local held, amounts, total = KEYS[i * 4 + 2], KEYS[i * 4 + 3], KEYS[i * 4 + 4]
          local amount = redis.call('HGET', amounts, ARGV[1])
          if amount then
            redis.call('HDEL', amounts, ARGV[1])
            redis.call('ZREM', held, ARGV[1])
            redis.call('DECRBY', total, amount)
          end
          if ARGV[i * 2 + 2] ~= '0' then redis.call('INCRBY', KEYS[i * 4 + 1], ARGV[i * 2 + 2]) end
          redis.call('EXPIRE', KEYS[i * 4 + 1], ARGV[i * 2 + 3])
        end
        return 0
        """
    )

    /// `KEYS`: used keys; `ARGV`: charge and TTL (s) per key. Adds what pods spent under
    /// `on_store_failure: local` while the store was away.
    static let reconcileScript = RedisScript(
        """
        for i = 1, #KEYS do
          redis.call('INCRBY', KEYS[i], ARGV[i * 2 - 1])
          redis.call('EXPIRE', KEYS[i], ARGV[i * 2])
        end
        return 0
        """
    )

    /// The four keys of `key`'s limit, the used key of the window holding `now`.
    func keys(of key: QuotaLedger.Key, ledger: QuotaLedger, now: Int64) -> [String] {
        let base = "\(self.settings.keyPrefix)quota:\(key.scope):\(Self.name(of: key.kind))"
        return ["\(base):\(ledger.windowID(key.kind, now: now))", "\(base):held", "\(base):held:amounts", "\(base):held:total"]
    }

    /// How long a window's used key is kept: one more window after the one it counts.
    static func usedKeySeconds(_ kind: QuotaLedger.Kind) -> Int64 {
        switch kind {
        case .requestsPerMinute, .tokensPerMinute: 120
        case .costPerDay: 2 * QuotaLedger.secondsPerDay
        case .costPerMonth: 62 * QuotaLedger.secondsPerDay
        }
    }

    static func name(of kind: QuotaLedger.Kind) -> String {
        switch kind {
        case .requestsPerMinute: "requests_per_minute"
        case .tokensPerMinute: "tokens_per_minute"
        case .costPerDay(let currency): "cost_per_day:\(currency)"
        case .costPerMonth(let currency): "cost_per_month:\(currency)"
        }
    }
}
