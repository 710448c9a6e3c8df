//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import SidecarModel
import Synchronization

/// The statistics behind `GET /api/v1/usage/stats` and `/api/v1/usage/costs`: every request
/// since start-up (plus what was rebuilt from the usage file), by model, provider, task type
/// and client.
///
/// Totals are kept per combination of the four, once for all time and once per 10-minute slot
/// for the last 24 hours, so the `1h` and `24h` windows are exact to a slot. Fed from the usage
/// records, one lock per request.
///
/// Memory is bounded whatever clients send: a label counts under its own name only when the
/// configuration names it — the model entry that served (a pattern such as `gpt-*`, not each
/// name it matched), a provider, a route's task type or `default`, a client or `default` —
/// and under `_other` (as in the metrics) otherwise; `none` when the request had none. As a
/// second line of defence each table (all time, and each slot) holds at most
/// ``maximumGroups`` (1,000) combinations, later ones counting under `_other` in every label.
final class UsageStatistics: Sendable {
    struct Group: Hashable, Sendable {
        var model: String
        var provider: String
        var taskType: String
        var client: String

        /// What every label outside the configuration counts under.
        static let other = ReservedName.overflowGroup
        /// The group of combinations past ``UsageStatistics/maximumGroups``.
        static let overflow = Group(model: Self.other, provider: Self.other, taskType: Self.other, client: Self.other)

        /// A request's group, each label kept only when `configuration` names it; `model` is
        /// the model entry (exact name or pattern) or a name to resolve to one.
        init(model: String?, provider: String?, taskType: String?, client: String, configuration: SidecarConfiguration) {
            self.model = model.map { configuration.models.resolve($0)?.entry.name ?? Self.other } ?? "none"
            self.provider = provider.map { configuration.providers[$0] != nil ? $0 : Self.other } ?? "none"
            self.taskType = taskType.map { configuration.routes[$0] != nil || $0 == "default" ? $0 : Self.other } ?? "none"
            let known = client == ReservedName.anonymousClient || configuration.clients.contains { $0.name == client }
            self.client = known ? client : Self.other
        }

        init(model: String, provider: String, taskType: String, client: String) {
            self.model = model
            self.provider = provider
            self.taskType = taskType
            self.client = client
        }
    }

    /// The most groups one table (all time, or one 10-minute slot) holds.
    static let maximumGroups = 1_000

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

    /// Adds a finished request, labelled by what `configuration` (the current one) names.
    func observe(_ record: UsageRecord, configuration: SidecarConfiguration) {
        let group = Group(
            model: record.modelEntry,
            provider: record.provider,
            taskType: record.taskType,
            client: record.client,
            configuration: configuration
        )
        self.add(UsageTotals.Entry(record), to: group, at: Int64(record.timestamp.timeIntervalSince1970))
    }

    /// Adds one request that happened at `time` (Unix seconds).
    func add(_ entry: UsageTotals.Entry, to group: Group, at time: Int64) {
        let slot = time / Self.slotSeconds
        self.state.withLock { state in
            state.since = min(state.since, time)
            state.all[Self.bounded(group, in: state.all), default: UsageTotals()].add(entry)
            let current = QuotaBook.now() / Self.slotSeconds
            let oldest = current - (Window.lastDay.slots ?? 0) + 1
            if state.prunedAt != current {
                state.slots = state.slots.filter { $0.key >= oldest }
                state.prunedAt = current
            }
            guard slot >= oldest else { return }
            let bounded = Self.bounded(group, in: state.slots[slot] ?? [:])
            state.slots[slot, default: [:]][bounded, default: UsageTotals()].add(entry)
        }
    }

    private static func bounded(_ group: Group, in table: [Group: UsageTotals]) -> Group {
        table.count < Self.maximumGroups || table[group] != nil ? group : .overflow
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
