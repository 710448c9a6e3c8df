//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Counts events, and how many of them were marked (failures, retries), over a sliding time
/// window kept as a ring of equal buckets.
///
/// Adding is O(1) and reading O(buckets) with fixed memory, whatever the request rate: at
/// 10,000 requests/s a 30-second window of individual outcomes would be 300,000 entries to scan
/// per request. Counts leave the window a whole bucket at a time, so the window reaches back
/// between `length - length / buckets` and `length`.
struct SlidingWindow: Sendable {
    struct Tally: Sendable, Hashable {
        var events = 0
        var marked = 0
    }

    private let bucketNanoseconds: Int64
    private var buckets: [(index: Int64, tally: Tally)]
    /// The instant bucket 0 starts at: the one given, else the first one added.
    private var origin: ContinuousClock.Instant?

    /// - Parameters:
    ///   - length: how far back the window reaches (at least one nanosecond per bucket).
    ///   - buckets: how many pieces it is cut into; more is finer and costs more per read.
    ///   - origin: where bucket boundaries fall (the first instant added when `nil`).
    init(length: Duration, buckets: Int, origin: ContinuousClock.Instant? = nil) {
        self.origin = origin
        self.bucketNanoseconds = max(1, Self.nanoseconds(length) / Int64(buckets))
        self.buckets = Array(repeating: (Int64.min, Tally()), count: buckets)
    }

    /// Counts `events` at `now`, `marked` of them marked. An instant older than the whole
    /// window (a late caller) is not counted.
    mutating func add(events: Int = 1, marked: Int, at now: ContinuousClock.Instant) {
        if self.origin == nil { self.origin = now }
        let index = self.index(of: now)
        let slot = Int(index.modulo(Int64(self.buckets.count)))
        if self.buckets[slot].index < index { self.buckets[slot] = (index, Tally()) }
        guard self.buckets[slot].index == index else { return }
        self.buckets[slot].tally.events += events
        self.buckets[slot].tally.marked += marked
    }

    /// The counts inside the window that ends at `now`.
    func tally(at now: ContinuousClock.Instant) -> Tally {
        let newest = self.index(of: now)
        let oldest = newest - Int64(self.buckets.count)
        var total = Tally()
        for bucket in self.buckets where bucket.index > oldest && bucket.index <= newest {
            total.events += bucket.tally.events
            total.marked += bucket.tally.marked
        }
        return total
    }

    /// Forgets every count.
    mutating func reset() {
        for slot in self.buckets.indices { self.buckets[slot] = (Int64.min, Tally()) }
    }

    private func index(of instant: ContinuousClock.Instant) -> Int64 {
        guard let origin = self.origin else { return 0 }
        return Self.nanoseconds(instant - origin).floorDivided(by: self.bucketNanoseconds)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}

extension Int64 {
    /// Division rounding towards negative infinity, so instants just before the origin land in
    /// bucket -1 rather than sharing bucket 0.
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    fileprivate func modulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
