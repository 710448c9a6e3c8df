//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension SecretScrubber {
    /// A credential recognised by its form rather than its value: a prefix, then at least
    /// `minimum` token characters (the part redacted).
    private struct Shape {
        var prefix: [UInt8]
        var minimum: Int
        /// Whether the prefix matches in any letter case.
        var anyCase = false
        /// Separators allowed (and at least one required) between prefix and value: `:`, `=`,
        /// quotes and blanks for a field name (`"x-api-key": "…"`, `key=…`), blanks for a scheme.
        var separators: Separators = .none
        /// Whether the prefix is redacted too (a key's own prefix such as `sk-`).
        var includesPrefix = true

        enum Separators { case none, blanks, assignment }
    }

    /// `sk-…` (OpenAI, DeepSeek, DashScope, Anthropic), `AIza…` (Google keys), `ya29.…` (Google
    /// OAuth), the value after `Bearer` or `Basic`, and the value of a field or query parameter
    /// named like a key (`x-api-key`, `x-goog-api-key`, `api-key`, `api_key`, `apikey`,
    /// `access_token`, `authorization`, `key`) followed by `:` or `=`.
    private static let shapes: [Shape] =
        [
            Shape(prefix: Array("sk-".utf8), minimum: 12),
            Shape(prefix: Array("AIza".utf8), minimum: 20),
            Shape(prefix: Array("ya29.".utf8), minimum: 20),
            Shape(prefix: Array("bearer".utf8), minimum: 8, anyCase: true, separators: .blanks, includesPrefix: false),
            Shape(prefix: Array("basic".utf8), minimum: 8, anyCase: true, separators: .blanks, includesPrefix: false),
        ]
        + ["x-api-key", "x-goog-api-key", "api-key", "api_key", "apikey", "access_token", "authorization", "key"].map {
            Shape(prefix: Array($0.utf8), minimum: 8, anyCase: true, separators: .assignment, includesPrefix: false)
        }

    /// Ranges of `bytes` shaped like credentials (see ``shapes``).
    static func shapeRanges(in bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        for shape in Self.shapes {
            var index = 0
            while let start = Self.find(shape, in: bytes, from: index) {
                index = start + shape.prefix.count
                guard let value = Self.value(after: index, in: bytes, shape: shape) else { continue }
                ranges.append((shape.includesPrefix ? start : value.lowerBound)..<value.upperBound)
                index = value.upperBound
            }
        }
        return ranges
    }

    /// The next occurrence of the shape's prefix at a word start (`task-…` is not `sk-…`).
    private static func find(_ shape: Shape, in bytes: [UInt8], from start: Int) -> Int? {
        let prefix = shape.prefix
        guard bytes.count >= prefix.count else { return nil }
        var index = start
        while index <= bytes.count - prefix.count {
            let matches = zip(bytes[index..<index + prefix.count], prefix).allSatisfy { byte, expected in
                byte == expected || (shape.anyCase && Self.lowercased(byte) == expected)
            }
            if matches, index == 0 || !Self.isAlphanumeric(bytes[index - 1]) { return index }
            index += 1
        }
        return nil
    }

    /// The value after a prefix ending at `index`: separators as the shape allows, then at least
    /// `shape.minimum` token characters.
    private static func value(after index: Int, in bytes: [UInt8], shape: Shape) -> Range<Int>? {
        var start = index
        switch shape.separators {
        case .none:
            break
        case .blanks:
            while start < bytes.count, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
            guard start > index else { return nil }
        case .assignment:
            var assigned = false
            while start < bytes.count, start - index < 4, Self.isAssignment(bytes[start]) {
                if bytes[start] == UInt8(ascii: ":") || bytes[start] == UInt8(ascii: "=") { assigned = true }
                start += 1
            }
            guard assigned else { return nil }
        }
        // A bearer token or field value may be a JWT (dots); a bare `sk-…` key ends at a period.
        var end = start
        while end < bytes.count, Self.isTokenCharacter(bytes[end]) || (shape.separators != .none && bytes[end] == UInt8(ascii: ".")) {
            end += 1
        }
        return end - start >= shape.minimum ? start..<end : nil
    }

    private static func isAssignment(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ":") || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
            || byte == UInt8(ascii: " ")
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        Self.isKeyCharacter(byte) && byte != UInt8(ascii: "-") && byte != UInt8(ascii: "_")
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }
}
