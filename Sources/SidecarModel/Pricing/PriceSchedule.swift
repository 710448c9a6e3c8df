//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import FoundationEssentials

/// A model's prices over time: each applies from its `effective` day (UTC) until the next one.
///
/// A request is billed at the latest price whose day is on or before the request's UTC day; a
/// price without a day is always in force (it is the one used before the first dated price).
/// So `[{0.27}, {effective 2025-09-29, 0.28}]` bills 2025-09-28 at 0.27 and 2025-09-29 at 0.28,
/// while `[{effective 2025-09-29, 0.28}]` alone leaves earlier requests unpriced.
package struct PriceSchedule: Sendable, Hashable {
    /// One price and the day it takes effect.
    package struct Entry: Sendable, Hashable {
        /// `nil`: always in force.
        package var effective: CalendarDay?
        package var price: Price
    }

    /// Undated first, then by day. Effective days are unique (configuration validation sees to it).
    package let entries: [Entry]

    package init(_ entries: [Entry]) {
        self.entries = entries.sorted { ($0.effective?.daysSinceEpoch ?? .min) < ($1.effective?.daysSinceEpoch ?? .min) }
    }

    /// A schedule of one price that is always in force.
    package init(_ price: Price) {
        self.entries = [Entry(effective: nil, price: price)]
    }

    /// The price in force on `day`, or `nil` when every price starts later.
    package func entry(on day: CalendarDay) -> Entry? {
        self.entries.last { $0.effective.map { $0 <= day } ?? true }
    }

    /// The price in force at `date` (its UTC day).
    package func price(at date: Date) -> Price? {
        self.entry(on: CalendarDay(date))?.price
    }
}
