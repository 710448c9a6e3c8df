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
    /// The decimal form with trailing fraction zeros dropped (`0.00042`, `-3`), written into a
    /// stack buffer: most amounts fit a small string, so the usage line and the cost header
    /// allocate nothing for them.
    package var description: String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 34) { buffer in
            var index = buffer.endIndex
            func put(_ digit: UInt64) {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(digit)
            }
            let unit = UInt64(Self.picosPerUnit)
            var whole = self.picos.magnitude / unit
            var fraction = self.picos.magnitude % unit
            if fraction > 0 {
                var places = 12
                while fraction % 10 == 0 {
                    fraction /= 10
                    places -= 1
                }
                for _ in 0..<places {
                    put(fraction % 10)
                    fraction /= 10
                }
                index -= 1
                buffer[index] = UInt8(ascii: ".")
            }
            repeat {
                put(whole % 10)
                whole /= 10
            } while whole > 0
            if self.picos < 0 {
                index -= 1
                buffer[index] = UInt8(ascii: "-")
            }
            return String(decoding: UnsafeMutableBufferPointer(rebasing: buffer[index...]), as: UTF8.self)
        }
    }

    /// The amount as a JSON number.
    package var json: JSONValue { JSONNumber(literal: self.description).map(JSONValue.number) ?? .null }
}
