//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A JSON number kept as its literal text, so it is re-emitted exactly as received.
///
/// Two numbers are equal when their numeric values are equal (`1`, `1.0` and `1e0` are equal),
/// which is how golden tests compare documents.
public struct JSONNumber: Sendable, CustomStringConvertible {
    /// The number's text, valid JSON number syntax.
    public let literal: String

    /// Wraps a literal that the parser has already validated.
    init(validatedLiteral: String) {
        self.literal = validatedLiteral
    }

    /// A number from its JSON text (`"0.0000123"`); `nil` when the text is not a JSON number.
    public init?(literal: String) {
        guard Self.isValid(literal.utf8) else { return nil }
        self.literal = literal
    }

    /// Whether `text` follows the JSON number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    static func isValid(_ text: String.UTF8View) -> Bool {
        var bytes = text[...]
        func digits() -> Int {
            let count = bytes.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
            bytes = bytes.dropFirst(count)
            return count
        }
        if bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
        if bytes.first == UInt8(ascii: "0") {
            bytes = bytes.dropFirst()
        } else if digits() == 0 {
            return false
        }
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            if digits() == 0 { return false }
        }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
            if digits() == 0 { return false }
        }
        return bytes.isEmpty
    }

    public init(_ value: Int) {
        self.literal = String(value)
    }

    /// A number from a `Double`; non-finite values, which JSON cannot express, become `0`.
    public init(_ value: Double) {
        guard value.isFinite else {
            self.literal = "0"
            return
        }
        if value == value.rounded(), abs(value) < 1e15 {
            self.literal = String(Int(value))
        } else {
            self.literal = "\(value)"
        }
    }

    /// The value as an `Int` when it has no fractional part and fits.
    public var intValue: Int? {
        if let int = Int(self.literal) { return int }
        guard let double = Double(self.literal), double == double.rounded(), abs(double) < 9.0e18 else { return nil }
        return Int(double)
    }

    public var doubleValue: Double { Double(self.literal) ?? 0 }

    public var description: String { self.literal }
}

extension JSONNumber: Hashable {
    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        lhs.literal == rhs.literal || lhs.doubleValue == rhs.doubleValue
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.doubleValue)
    }
}
