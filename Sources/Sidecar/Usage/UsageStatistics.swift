//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import Synchronization

/// The statistics behind `GET /api/v1/usage/stats` and `/api/v1/usage/costs`: every request
/// since start-up (plus what was rebuilt from the usage file), by model, provider, task type
/// and client.
///
/// Totals are kept per combination of the four, once for all time and once per 10-minute slot
/// for the last 24 hours, so the `1h` and `24h` windows are exact to a slot. Fed from the usage
/// records, one lock per request.
final class UsageStatistics: Sendable {
    struct Group: Hashable, Sendable {
        var model: String
        var provider: String
        var taskType: String
        var client: String
    }

    enum Window: String, Sendable, CaseIterable {
        case lastHour = "1h"
        case lastDay = "24h"
        case all

        /// Slots covered, `nil` for all time.
        var slots: Int64? {
            switch self {
            case .lastHour: 6
            case .lastDay: 144
            case .all: nil
            }
        }
    }

    static let slotSeconds: Int64 = 600

    private struct State {
        var since: Int64
        var all: [Group: UsageTotals] = [:]
        var slots: [Int64: [Group: UsageTotals]] = [:]
        /// The slot at the last pruning: older slots are dropped once per slot, not per request.
        var prunedAt: Int64 = 0
    }

    private let state: Mutex<State>

    init(now: Int64 = QuotaBook.now()) {
        self.state = Mutex(State(since: now))
    }

    func observe(_ record: UsageRecord) {
        let group = Group(
            model: record.model ?? "none",
            provider: record.provider ?? "none",
            taskType: record.taskType ?? "none",
            client: record.client
        )
        let entry = UsageTotals.Entry(
            failed: record.outcome != .success,
            usage: record.usage,
            cost: record.cost,
            currency: record.currency,
            latencyMilliseconds: record.latencyMilliseconds
        )
        self.add(entry, to: group, at: Int64(record.timestamp.timeIntervalSince1970))
    }

    /// Adds one request that happened at `time` (Unix seconds).
    func add(_ entry: UsageTotals.Entry, to group: Group, at time: Int64) {
        let slot = time / Self.slotSeconds
        self.state.withLock { state in
            state.since = min(state.since, time)
            state.all[group, default: UsageTotals()].add(entry)
            let current = QuotaBook.now() / Self.slotSeconds
            let oldest = current - (Window.lastDay.slots ?? 0) + 1
            if state.prunedAt != current {
                state.slots = state.slots.filter { $0.key >= oldest }
                state.prunedAt = current
            }
            guard slot >= oldest else { return }
            state.slots[slot, default: [:]][group, default: UsageTotals()].add(entry)
        }
    }

    /// The totals per group over `window`, and the Unix time the window starts.
    func totals(over window: Window, now: Int64 = QuotaBook.now()) -> (since: Int64, groups: [Group: UsageTotals]) {
        self.state.withLock { state in
            guard let count = window.slots else { return (state.since, state.all) }
            let first = now / Self.slotSeconds - count + 1
            var groups: [Group: UsageTotals] = [:]
            for (slot, totals) in state.slots where slot >= first {
                for (group, sums) in totals { groups[group, default: UsageTotals()].merge(sums) }
            }
            return (max(state.since, first * Self.slotSeconds), groups)
        }
    }
}
