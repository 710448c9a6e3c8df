//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A strict RFC 8259 parser producing ``JSONValue`` trees.
///
/// Nesting is limited (``JSONValue/defaultMaximumDepth`` = 128 arrays/objects deep) so a hostile
/// 10 000-deep document is rejected with an error instead of exhausting the stack.
struct JSONParser: ~Copyable {
    /// Objects with this many members switch from linear to hashed duplicate-key checks.
    static let hashedKeysThreshold = 32

    private let bytes: UnsafeBufferPointer<UInt8>
    private let maximumDepth: Int
    private var index = 0
    private var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        let value = try self.parseValue()
        self.skipWhitespace()
        guard self.index == self.bytes.count else { throw self.error("unexpected data after the JSON value") }
        return value
    }

    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        self.skipWhitespace()
        guard let byte = self.peek() else { throw self.error("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return .object(try self.parseObject())
        case UInt8(ascii: "["): return .array(try self.parseArray())
        case UInt8(ascii: "\""): return .string(try self.parseString())
        case UInt8(ascii: "t"): return try self.parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try self.parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try self.parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try self.parseNumber())
        default: throw self.error("unexpected character")
        }
    }

    private mutating func enterContainer() throws(JSONParseError) {
        self.depth += 1
        guard self.depth <= self.maximumDepth else {
            throw self.error("nesting deeper than \(self.maximumDepth) levels")
        }
        self.index += 1
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONObject {
        try self.enterContainer()
        defer { self.depth -= 1 }
        var object = JSONObject()
        // Past a few dozen members, duplicate keys are found by hashing: the linear check would
        // make a catalog of 5,000 models cost 12 million string comparisons.
        var keys: Set<String>?
        self.skipWhitespace()
        if self.consume(UInt8(ascii: "}")) { return object }
        while true {
            self.skipWhitespace()
            guard self.peek() == UInt8(ascii: "\"") else { throw self.error("expected a string key") }
            let key = try self.parseString()
            self.skipWhitespace()
            guard self.consume(UInt8(ascii: ":")) else { throw self.error("expected ':' after an object key") }
            let value = try self.parseValue()
            if object.count == Self.hashedKeysThreshold { keys = Set(object.keys) }
            let isNew = keys != nil ? keys!.insert(key).inserted : object[key] == nil
            if isNew {
                object.appendUnchecked(key: key, value: value)
            } else {
                object[key] = value
            }
            self.skipWhitespace()
            if self.consume(UInt8(ascii: ",")) { continue }
            if self.consume(UInt8(ascii: "}")) { return object }
            throw self.error("expected ',' or '}' in an object")
        }
    }

    private mutating func parseArray() throws(JSONParseError) -> [JSONValue] {
        try self.enterContainer()
        defer { self.depth -= 1 }
        var array: [JSONValue] = []
        self.skipWhitespace()
        if self.consume(UInt8(ascii: "]")) { return array }
        while true {
            array.append(try self.parseValue())
            self.skipWhitespace()
            if self.consume(UInt8(ascii: ",")) { continue }
            if self.consume(UInt8(ascii: "]")) { return array }
            throw self.error("expected ',' or ']' in an array")
        }
    }

    private mutating func parseLiteral(_ word: StaticString, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard self.index + count <= self.bytes.count else { throw self.error("invalid literal") }
        for offset in 0..<count where self.bytes[self.index + offset] != word.utf8Start[offset] {
            throw self.error("invalid literal")
        }
        self.index += count
        return value
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = self.index
        _ = self.consume(UInt8(ascii: "-"))
        if self.consume(UInt8(ascii: "0")) {
            // A leading zero may not be followed by more digits.
        } else if try self.consumeDigits() == 0 {
            throw self.error("invalid number")
        }
        if self.consume(UInt8(ascii: ".")), try self.consumeDigits() == 0 {
            throw self.error("invalid number: digits expected after '.'")
        }
        if self.consume(UInt8(ascii: "e")) || self.consume(UInt8(ascii: "E")) {
            if !self.consume(UInt8(ascii: "+")) { _ = self.consume(UInt8(ascii: "-")) }
            if try self.consumeDigits() == 0 { throw self.error("invalid number: digits expected in exponent") }
        }
        let literal = String(decoding: UnsafeBufferPointer(rebasing: self.bytes[start..<self.index]), as: UTF8.self)
        return JSONNumber(validatedLiteral: literal)
    }

    private mutating func consumeDigits() throws(JSONParseError) -> Int {
        let start = self.index
        while let byte = self.peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            self.index += 1
        }
        return self.index - start
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        self.index += 1  // opening quote
        let start = self.index
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            if byte == UInt8(ascii: "\"") {
                let string = String(decoding: UnsafeBufferPointer(rebasing: self.bytes[start..<self.index]), as: UTF8.self)
                self.index += 1
                return string
            }
            if byte == UInt8(ascii: "\\") { return try self.parseEscapedString(from: start) }
            if byte < 0x20 { throw self.error("unescaped control character in a string") }
            self.index += 1
        }
        throw self.error("unterminated string")
    }

    /// The slow path for strings that contain escapes.
    private mutating func parseEscapedString(from start: Int) throws(JSONParseError) -> String {
        var utf8 = Array(UnsafeBufferPointer(rebasing: self.bytes[start..<self.index]))
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            self.index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try self.parseEscape(into: &utf8)
            case ..<0x20:
                throw self.error("unescaped control character in a string")
            default:
                utf8.append(byte)
            }
        }
        throw self.error("unterminated string")
    }

    private mutating func parseEscape(into utf8: inout [UInt8]) throws(JSONParseError) {
        guard let escape = self.peek() else { throw self.error("unterminated escape") }
        self.index += 1
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"): try self.parseUnicodeEscape(into: &utf8)
        default: throw self.error("invalid escape sequence")
        }
    }

    private mutating func parseUnicodeEscape(into utf8: inout [UInt8]) throws(JSONParseError) {
        var scalar = UInt32(try self.parseHex4())
        if (0xD800..<0xDC00).contains(scalar) {
            // A high surrogate must be followed by an escaped low surrogate.
            guard self.consume(UInt8(ascii: "\\")), self.consume(UInt8(ascii: "u")) else {
                throw self.error("unpaired surrogate in a \\u escape")
            }
            let low = UInt32(try self.parseHex4())
            guard (0xDC00..<0xE000).contains(low) else { throw self.error("unpaired surrogate in a \\u escape") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(scalar) {
            throw self.error("unpaired surrogate in a \\u escape")
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw self.error("invalid \\u escape") }
        utf8.append(contentsOf: UTF8.encode(unicode)!)
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt16 {
        guard self.index + 4 <= self.bytes.count else { throw self.error("truncated \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = self.bytes[self.index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw self.error("invalid hex digit in a \\u escape")
            }
            value = value << 4 | UInt16(digit)
            self.index += 1
        }
        return value
    }

    private mutating func skipWhitespace() {
        while let byte = self.peek(),
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t")
        {
            self.index += 1
        }
    }

    private func peek() -> UInt8? {
        self.index < self.bytes.count ? self.bytes[self.index] : nil
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard self.peek() == byte else { return false }
        self.index += 1
        return true
    }

    private func error(_ reason: String) -> JSONParseError {
        JSONParseError(reason: reason, offset: self.index)
    }
}

/// Why a document is not valid JSON, and the byte offset where parsing stopped.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int

    public var description: String { "invalid JSON at byte \(self.offset): \(self.reason)" }
}

extension JSONValue {
    /// The deepest nesting of arrays and objects ``parse(_:maximumDepth:)`` accepts by default.
    public static let defaultMaximumDepth = 128

    /// Parses one JSON document (surrounding whitespace allowed).
    ///
    /// - Parameters:
    ///   - bytes: UTF-8 encoded JSON.
    ///   - maximumDepth: the deepest nesting of arrays and objects accepted (default 128).
    /// - Throws: ``JSONParseError`` for any syntax error or excessive nesting.
    public static func parse(
        _ bytes: some Collection<UInt8>,
        maximumDepth: Int = JSONValue.defaultMaximumDepth
    ) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Self.parse(buffer: buffer, maximumDepth: maximumDepth)
        }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer in
            Self.parse(buffer: buffer, maximumDepth: maximumDepth)
        }.get()
    }

    /// Parses a JSON document held in a string.
    public static func parse(_ string: String) throws(JSONParseError) -> JSONValue {
        try Self.parse(Array(string.utf8))
    }

    private static func parse(buffer: UnsafeBufferPointer<UInt8>, maximumDepth: Int) -> Result<JSONValue, JSONParseError> {
        var parser = JSONParser(bytes: buffer, maximumDepth: maximumDepth)
        do {
            return .success(try parser.parseDocument())
        } catch {
            return .failure(error)
        }
    }
}
