//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import SidecarModel

/// The usage statistics of every pod together, on the fleet's store: what
/// `/api/v1/usage/stats?scope=fleet`, `/api/v1/usage/costs?scope=fleet` and
/// `llm-sidecar usage report --store` read.
///
/// Each request adds its totals (``UsageTotals/storeFields``) with `HINCRBY` to two hashes —
/// its 10-minute slot (kept 25 h, for the `1h` and `24h` windows) and its UTC day (kept
/// ``retainedDays`` days, for `all`) — in the write that settles its quota, never waited on by
/// the client. A field is `<model>␟<provider>␟<task type>␟<client>␟<counter>`, the labels those
/// of ``UsageStatistics/Group`` (bounded by the configuration); as a second line of defence a
/// hash holds at most ``UsageStatistics/maximumGroups`` (1,000) groups, later ones counting
/// under `_other`. Requests made while the store is away are not added (their usage lines
/// have them).
struct FleetStatistics: Sendable {
    /// How long a day's totals are kept: 400 days.
    static let retainedDays: Int64 = 400
    static let separator: Character = "\u{1F}"

    let store: FleetStore

    /// `KEYS`: the slot hash, the day hash, the set of days; `ARGV`: group, overflow group, the
    /// most groups, slot TTL (s), day TTL (s), day number, then counter and amount pairs.
    static let recordScript = RedisScript(
        """
        for k = 1, 2 do
          local group = ARGV[1]
          if redis.call('HEXISTS', KEYS[k], '#' .. group) == 0 then
            if tonumber(redis.call('HGET', KEYS[k], '#groups') or '0') >= tonumber(ARGV[3]) then
              group = ARGV[2]
            else
              redis.call('HSET', KEYS[k], '#' .. group, 1)
              redis.call('HINCRBY', KEYS[k], '#groups', 1)
            end
          end
          for i = 7, #ARGV, 2 do redis.call('HINCRBY', KEYS[k], group .. ARGV[i], ARGV[i + 1]) end
          redis.call('EXPIRE', KEYS[k], ARGV[k + 3])
        end
        redis.call('ZADD', KEYS[3], ARGV[6], ARGV[6])
        redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', tonumber(ARGV[6]) - tonumber(ARGV[5]) / 86400)
        return 0
        """
    )

    /// Queues `record`'s totals for the store.
    func observe(_ record: UsageRecord, configuration: SidecarConfiguration) {
        let group = UsageStatistics.Group(
            model: record.modelEntry,
            provider: record.provider,
            taskType: record.taskType,
            client: record.client,
            configuration: configuration
        )
        var totals = UsageTotals()
        totals.add(UsageTotals.Entry(record))
        let time = Int64(record.timestamp.timeIntervalSince1970)
        let (slot, day) = (time / UsageStatistics.slotSeconds, time / QuotaLedger.secondsPerDay)
        var arguments = [
            Self.prefix(of: group), Self.prefix(of: .overflow), String(UsageStatistics.maximumGroups), String(25 * 3_600),
            String(Self.retainedDays * QuotaLedger.secondsPerDay), String(day),
        ]
        for (name, value) in totals.storeFields { arguments += [name, String(value)] }
        self.store.writes.enqueue(
            StoreWriteQueue.Call(
                script: Self.recordScript,
                keys: [self.slotKey(slot), self.dayKey(day), self.store.key("usage:days")],
                arguments: arguments
            )
        )
    }

    /// The fleet's totals per group over `window`, and the Unix time the window starts.
    func totals(
        over window: UsageStatistics.Window,
        now: Int64 = QuotaBook.now()
    ) async throws(RedisError) -> (since: Int64, groups: [UsageStatistics.Group: UsageTotals]) {
        let hashes: [(key: String, start: Int64)]
        if let count = window.slots {
            let current = now / UsageStatistics.slotSeconds
            hashes = (current - count + 1...current).map { (self.slotKey($0), $0 * UsageStatistics.slotSeconds) }
        } else {
            let days = try await self.store.client.pipeline([["ZRANGE", RedisArgument(self.store.key("usage:days")), "0", "-1"]])
            hashes = Self.strings(days.first).compactMap(Int64.init).sorted().map { (self.dayKey($0), $0 * QuotaLedger.secondsPerDay) }
        }
        let replies = try await self.store.client.pipeline(hashes.map { ["HGETALL", RedisArgument($0.key)] })
        var since: Int64?
        var groups: [UsageStatistics.Group: UsageTotals] = [:]
        for (hash, reply) in zip(hashes, replies) {
            let strings = Self.strings(reply)
            guard strings.count >= 2 else { continue }
            since = min(since ?? hash.start, hash.start)
            for index in stride(from: 0, to: strings.count - 1, by: 2) {
                guard let (group, counter) = Self.parse(field: strings[index]), let value = Int64(strings[index + 1]) else { continue }
                groups[group, default: UsageTotals()].add(storeField: counter, value: value)
            }
        }
        return (since ?? now, groups)
    }

    private func slotKey(_ slot: Int64) -> String { self.store.key("usage:slot:\(slot)") }
    private func dayKey(_ day: Int64) -> String { self.store.key("usage:day:\(day)") }

    /// The labels of `group`, each followed by the separator.
    private static func prefix(of group: UsageStatistics.Group) -> String {
        [group.model, group.provider, group.taskType, group.client].map { $0 + String(Self.separator) }.joined()
    }

    private static func parse(field: String) -> (UsageStatistics.Group, Substring)? {
        let parts = field.split(separator: Self.separator, omittingEmptySubsequences: false)
        guard parts.count == 5, !parts[4].isEmpty, !field.hasPrefix("#") else { return nil }
        return (
            UsageStatistics.Group(model: String(parts[0]), provider: String(parts[1]), taskType: String(parts[2]), client: String(parts[3])), parts[4]
        )
    }

    private static func strings(_ reply: RESPValue?) -> [String] {
        guard case .array(let items?) = reply else { return [] }
        return items.compactMap { item in
            guard case .bulkString(let bytes?) = item else { return nil }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
