//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension Money {
    /// Reads a non-negative decimal number in JSON syntax (`0.0000025`, `2.5e-06`, `3`, `1E+2`)
    /// times `scale` picounits, rounded half up to a whole picounit.
    ///
    /// The arithmetic is on the decimal digits, never on binary floating point, so `2.5e-06`
    /// with `scale` 10¹² is exactly 2 500 000. `nil` when the text is not such a number, or the
    /// result does not fit in an `Int64` (±9.2 million units at the default scale).
    package init?(roundingDecimal text: some StringProtocol, scale: Int64 = Money.picosPerUnit) {
        guard let decimal = Self.decimalDigits(text), let scaleExponent = Self.powerOfTen(scale) else { return nil }
        let exponent = decimal.exponent + scaleExponent
        let digits = decimal.digits
        var picos: Int64 = 0
        // Digits left of the decimal point after scaling; the first dropped digit rounds.
        let kept = exponent >= 0 ? digits.count : digits.count + exponent
        for digit in digits.prefix(max(0, kept)) {
            let (shifted, overflow) = picos.multipliedReportingOverflow(by: 10)
            guard !overflow, case let (sum, false) = shifted.addingReportingOverflow(Int64(digit)) else { return nil }
            picos = sum
        }
        if exponent > 0 {
            for _ in 0..<exponent {
                let (shifted, overflow) = picos.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                picos = shifted
            }
        } else if kept >= 0, kept < digits.count, digits[kept] >= 5 {
            picos += 1
        }
        self.init(picos: picos)
    }

    /// The significant digits (no leading zeros) and the power of ten of the last one:
    /// `0.0025` → ([2, 5], -4).
    private static func decimalDigits(_ text: some StringProtocol) -> (digits: [UInt8], exponent: Int)? {
        var bytes = Substring(text).utf8[...]
        var digits: [UInt8] = []
        var exponent = 0
        var sawDigit = false
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        while let byte = bytes.first, isDigit(byte) {
            sawDigit = true
            if !digits.isEmpty || byte != UInt8(ascii: "0") { digits.append(byte - UInt8(ascii: "0")) }
            bytes = bytes.dropFirst()
        }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            guard let first = bytes.first, isDigit(first) else { return nil }
            while let byte = bytes.first, isDigit(byte) {
                if !digits.isEmpty || byte != UInt8(ascii: "0") { digits.append(byte - UInt8(ascii: "0")) }
                exponent -= 1
                bytes = bytes.dropFirst()
            }
        }
        guard sawDigit else { return nil }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            var negative = false
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") {
                negative = bytes.first == UInt8(ascii: "-")
                bytes = bytes.dropFirst()
            }
            guard !bytes.isEmpty, bytes.count <= 4, bytes.allSatisfy(isDigit) else { return nil }
            let value = bytes.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
            exponent += negative ? -value : value
            bytes = bytes.dropFirst(bytes.count)
        }
        guard bytes.isEmpty else { return nil }
        return (digits, exponent)
    }

    /// `n` when `value` is 10ⁿ.
    private static func powerOfTen(_ value: Int64) -> Int? {
        var remaining = value
        var exponent = 0
        while remaining > 1, remaining % 10 == 0 {
            remaining /= 10
            exponent += 1
        }
        return remaining == 1 ? exponent : nil
    }
}
