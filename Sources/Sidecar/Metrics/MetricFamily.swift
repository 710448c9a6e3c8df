//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One Prometheus metric — a counter, a gauge or a histogram — with its series by label values.
///
/// A value type, updated under ``SidecarMetrics``'s lock. Label values come from the
/// configuration (model, provider and deployment names) or from small fixed sets (status
/// codes, outcomes, error codes), and a family holds at most ``maximumSeries`` (500) series:
/// later label combinations are counted under `_other`, so a misbehaving client cannot grow
/// the scrape without bound.
struct MetricFamily: Sendable {
    enum Kind: String, Sendable {
        case counter
        case gauge
        case histogram
    }

    struct Histogram: Sendable {
        /// Observations at or below each bound (not cumulative; summed when rendered).
        var counts: [Int]
        var sum = 0.0
        var count = 0

        /// Counts `value` in `bucket` (the first bound at or above it; `nil`: only in `+Inf`).
        mutating func record(_ value: Double, bucket: Int?) {
            if let bucket { self.counts[bucket] += 1 }
            self.sum += value
            self.count += 1
        }
    }

    static let maximumSeries = 500

    let name: String
    let help: String
    let kind: Kind
    let labelNames: [String]
    /// Upper bounds of histogram buckets, ascending (`+Inf` is implicit).
    let buckets: [Double]
    private(set) var values: [[String]: Double] = [:]
    private(set) var histograms: [[String]: Histogram] = [:]

    init(_ name: String, _ kind: Kind, help: String, labels: [String], buckets: [Double] = []) {
        self.name = name
        self.kind = kind
        self.help = help
        self.labelNames = labels
        self.buckets = buckets
    }

    mutating func add(_ amount: Double, _ labels: [String]) {
        self.values[self.bounded(labels, in: self.values.keys.contains(labels), count: self.values.count), default: 0] += amount
    }

    mutating func set(_ value: Double, _ labels: [String]) {
        self.values[self.bounded(labels, in: self.values.keys.contains(labels), count: self.values.count)] = value
    }

    mutating func observe(_ value: Double, _ labels: [String]) {
        let key = self.bounded(labels, in: self.histograms.keys.contains(labels), count: self.histograms.count)
        let bucket = self.buckets.firstIndex { value <= $0 }
        // Modified in place: a copy taken out and stored back would copy its counts on every observation.
        self.histograms[key, default: Histogram(counts: Array(repeating: 0, count: self.buckets.count))].record(value, bucket: bucket)
    }

    private func bounded(_ labels: [String], in known: Bool, count: Int) -> [String] {
        known || count < Self.maximumSeries ? labels : Array(repeating: "_other", count: labels.count)
    }

    /// The family in the Prometheus text exposition format (version 0.0.4), series sorted.
    func render(into text: inout String) {
        text += "# HELP \(self.name) \(self.help)\n# TYPE \(self.name) \(self.kind.rawValue)\n"
        for (labels, value) in self.values.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            text += "\(self.name)\(self.labelText(labels)) \(Self.number(value))\n"
        }
        for (labels, histogram) in self.histograms.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            var cumulative = 0
            for (bound, count) in zip(self.buckets, histogram.counts) {
                cumulative += count
                text += "\(self.name)_bucket\(self.labelText(labels, le: Self.number(bound))) \(cumulative)\n"
            }
            text += "\(self.name)_bucket\(self.labelText(labels, le: "+Inf")) \(histogram.count)\n"
            text += "\(self.name)_sum\(self.labelText(labels)) \(Self.number(histogram.sum))\n"
            text += "\(self.name)_count\(self.labelText(labels)) \(histogram.count)\n"
        }
    }

    private func labelText(_ values: [String], le: String? = nil) -> String {
        var pairs = zip(self.labelNames, values).map { "\($0)=\"\(Self.escaped($1))\"" }
        if let le { pairs.append("le=\"\(le)\"") }
        return pairs.isEmpty ? "" : "{" + pairs.joined(separator: ",") + "}"
    }

    /// A label value per the exposition format: backslash, double quote and line feed become
    /// `\\`, `\"` and `\n`. Works on Unicode scalars, not characters: `"\r\n"` is one Swift
    /// `Character`, which a character comparison with `"\n"` misses.
    static func escaped(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var escaped = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": escaped.append(contentsOf: "\\\\".unicodeScalars)
            case "\"": escaped.append(contentsOf: "\\\"".unicodeScalars)
            case "\n": escaped.append(contentsOf: "\\n".unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }

    /// Integers without a fraction (`3`), others in Swift's shortest round-trip form (`0.25`).
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
