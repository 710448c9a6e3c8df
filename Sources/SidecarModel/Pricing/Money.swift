//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import Translate

/// An exact amount of money, counted in picounits (10⁻¹² of a dollar or yuan).
///
/// Integer arithmetic keeps costs exact — a token of a $0.075-per-million model costs
/// 75 000 picodollars — and is far cheaper than `Decimal` on the per-request path. An `Int64`
/// holds ±9.2 million units, ample for one request or one sidecar's totals.
package struct Money: Sendable, Hashable, Comparable, CustomStringConvertible {
    package static let picosPerUnit: Int64 = 1_000_000_000_000

    package var picos: Int64

    package init(picos: Int64) {
        self.picos = picos
    }

    /// The amount as a floating-point number, for metrics (exact to about 15 significant digits).
    package var doubleValue: Double { Double(self.picos) / Double(Self.picosPerUnit) }

    /// Parses a non-negative decimal amount such as `0.28` or `12` with at most 12 decimals.
    package init?(parsing text: String, scale: Int64 = Money.picosPerUnit) {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = Int64(parts[0]), whole >= 0, parts[0].allSatisfy(\.isASCII) else { return nil }
        var picos = whole.multipliedReportingOverflow(by: scale)
        guard !picos.overflow else { return nil }
        if parts.count == 2 {
            let digits = parts[1]
            var unit = scale
            for digit in digits {
                guard let value = digit.wholeNumberValue, digit.isASCII, unit % 10 == 0 else { return nil }
                unit /= 10
                picos.partialValue += Int64(value) * unit
            }
            guard !digits.isEmpty else { return nil }
        }
        self.picos = picos.partialValue
    }

    package static func < (lhs: Money, rhs: Money) -> Bool { lhs.picos < rhs.picos }

    /// The sum, saturating instead of wrapping: an amount too large to hold stays the largest
    /// amount, so it can never turn into a credit.
    package static func + (lhs: Money, rhs: Money) -> Money {
        let (sum, overflow) = lhs.picos.addingReportingOverflow(rhs.picos)
        return Money(picos: overflow ? (rhs.picos > 0 ? .max : .min) : sum)
    }

    /// `count` times this amount, saturating instead of overflowing.
    package func times(_ count: Int) -> Money {
        let (product, overflow) = self.picos.multipliedReportingOverflow(by: Int64(count))
        return Money(picos: overflow ? .max : product)
    }

    /// The amount in plain decimal notation with no trailing zeros: `0.0002128`, `12`.
    package var description: String {
        let magnitude = self.picos.magnitude
        let whole = String(magnitude / UInt64(Self.picosPerUnit))
        let sign = self.picos < 0 ? "-" : ""
        let fraction = magnitude % UInt64(Self.picosPerUnit)
        guard fraction > 0 else { return sign + whole }
        var digits = Array(String(fraction).utf8)
        digits.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: 12 - digits.count), at: 0)
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        return sign + whole + "." + String(decoding: digits, as: UTF8.self)
    }

    /// The amount as a JSON number.
    package var json: JSONValue { JSONNumber(literal: self.description).map(JSONValue.number) ?? .null }
}
