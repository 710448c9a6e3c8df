//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension SecretScrubber {
    /// ``SecretScrubber/fragmentLength`` bytes packed for hashing.
    struct Window: Hashable, Sendable {
        var head: UInt64
        var tail: UInt32

        init(_ bytes: some Collection<UInt8>) {
            var head: UInt64 = 0
            var tail: UInt32 = 0
            for (index, byte) in bytes.enumerated() {
                if index < 8 { head = head << 8 | UInt64(byte) } else { tail = tail << 8 | UInt32(byte) }
            }
            self.head = head
            self.tail = tail
        }
    }

    /// The byte ranges of `bytes` to redact: sorted, disjoint, widened to whole tokens.
    func redactions(in bytes: [UInt8], mode: Mode) -> [Range<Int>] {
        var found: [Range<Int>] = []
        if !self.patterns.isEmpty {
            let view = DecodedView(bytes)
            found += self.patternRanges(in: view.bytes).map(view.originalRange)
            if mode == .error { found += self.fragmentRanges(in: view.bytes).map(view.originalRange) }
        }
        // Shapes are whole values already; widening `key=…` would take the name too.
        let shapes = mode == .error ? Self.shapeRanges(in: bytes) : []
        guard !found.isEmpty || !shapes.isEmpty else { return [] }
        return Self.merged(found.map { Self.widened($0, in: bytes) } + shapes)
    }

    /// One pass over `bytes`, comparing only the patterns that start with the byte at hand.
    private func patternRanges(in bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        for index in bytes.indices {
            for pattern in self.patternsByFirstByte[Int(bytes[index])] where index + self.patterns[pattern].count <= bytes.count {
                let candidate = self.patterns[pattern]
                if bytes[index..<index + candidate.count].elementsEqual(candidate) { ranges.append(index..<index + candidate.count) }
            }
        }
        return ranges
    }

    private func fragmentRanges(in bytes: [UInt8]) -> [Range<Int>] {
        let length = Self.fragmentLength
        guard !self.fragments.isEmpty, bytes.count >= length else { return [] }
        var ranges: [Range<Int>] = []
        for start in 0...(bytes.count - length) where Self.isKeyCharacter(bytes[start]) {
            guard self.fragments.contains(Window(bytes[start..<start + length])) else { continue }
            if let last = ranges.last, last.upperBound >= start {
                ranges[ranges.count - 1] = last.lowerBound..<start + length
            } else {
                ranges.append(start..<start + length)
            }
        }
        return ranges
    }

    /// A key's base64 forms: the characters that depend on the key's bytes alone, at each of
    /// the three alignments it can have inside a longer encoded value (`user:key`), in the
    /// standard and the URL-safe alphabet.
    static func base64Forms(of key: [UInt8]) -> [[UInt8]] {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var forms: [[UInt8]] = []
        for offset in 0..<3 {
            let bytes = [UInt8](repeating: 0, count: offset) + key
            let bits = bytes.count * 8
            var form: [UInt8] = []
            var character = 0
            while character * 6 + 6 <= bits {
                if character * 6 >= offset * 8 { form.append(alphabet[Self.sextet(character, of: bytes)]) }
                character += 1
            }
            guard form.count >= Self.minimumKeyLength else { continue }
            forms.append(form)
            let urlSafe = form.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0 }
            if urlSafe != form { forms.append(urlSafe) }
        }
        return forms
    }

    private static func sextet(_ index: Int, of bytes: [UInt8]) -> Int {
        var value = 0
        for bit in index * 6..<index * 6 + 6 {
            value = value << 1 | Int(bytes[bit / 8] >> (7 - UInt8(bit % 8)) & 1)
        }
        return value
    }

    /// Characters a key or an encoded key is made of: a match is widened over them. Not `\`:
    /// widening must not split a JSON escape such as `\"` (see ``widened(_:in:)``).
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        Self.isKeyCharacter(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
            || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "~")
    }

    static func isKeyCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "_"): true
        default: false
        }
    }

    /// The longest a match is widened to each side (256 bytes).
    static let widening = 256

    private static func widened(_ range: Range<Int>, in bytes: [UInt8]) -> Range<Int> {
        var lower = range.lowerBound
        while lower > 0, range.lowerBound - lower < Self.widening, Self.isTokenCharacter(bytes[lower - 1]) { lower -= 1 }
        var upper = range.upperBound
        while upper < bytes.count, upper - range.upperBound < Self.widening, Self.isTokenCharacter(bytes[upper]) { upper += 1 }
        // `\n` before the token: take the escape's backslash too, so the text stays valid JSON.
        let backslashes = bytes[..<lower].reversed().prefix { $0 == UInt8(ascii: "\\") }.count
        if backslashes % 2 == 1 { lower -= 1 }
        return lower..<upper
    }

    private static func merged(_ ranges: [Range<Int>]) -> [Range<Int>] {
        var merged: [Range<Int>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, last.upperBound >= range.lowerBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }
}

/// Text with percent escapes (`%2D`) and JSON escapes of ASCII characters (`\u002d`, `\/`)
/// decoded, and where each decoded byte came from, so a key is found however it was escaped.
///
/// Text without such escapes (nearly every answer) is used as it is, without a copy; otherwise
/// the map back costs two entries per escape, not one per byte.
private struct DecodedView {
    var bytes: [UInt8]
    /// `(decoded, original)` offsets where the two stop moving in step: at and after each escape.
    private var checkpoints: [(decoded: Int, original: Int)] = []

    init(_ original: [UInt8]) {
        guard original.indices.contains(where: { Self.decode(original, at: $0).width > 1 }) else {
            self.bytes = original
            return
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(original.count)
        var index = 0
        while index < original.count {
            let (byte, width) = Self.decode(original, at: index)
            if width > 1 {
                self.checkpoints.append((bytes.count, index))
                self.checkpoints.append((bytes.count + 1, index + width))
            }
            bytes.append(byte)
            index += width
        }
        self.bytes = bytes
    }

    func originalRange(_ range: Range<Int>) -> Range<Int> {
        self.original(range.lowerBound)..<self.original(range.upperBound)
    }

    /// The original offset of decoded offset `decoded`.
    private func original(_ decoded: Int) -> Int {
        var low = 0
        var high = self.checkpoints.count
        while low < high {
            let middle = (low + high) / 2
            if self.checkpoints[middle].decoded <= decoded { low = middle + 1 } else { high = middle }
        }
        guard low > 0 else { return decoded }
        let checkpoint = self.checkpoints[low - 1]
        return checkpoint.original + (decoded - checkpoint.decoded)
    }

    private static func decode(_ text: [UInt8], at index: Int) -> (byte: UInt8, width: Int) {
        let byte = text[index]
        if byte == UInt8(ascii: "%"), index + 2 < text.count, let high = hex(text[index + 1]), let low = hex(text[index + 2]) {
            return (high << 4 | low, 3)
        }
        guard byte == UInt8(ascii: "\\"), index + 1 < text.count else { return (byte, 1) }
        if text[index + 1] == UInt8(ascii: "/") { return (UInt8(ascii: "/"), 2) }
        if text[index + 1] == UInt8(ascii: "u"), index + 5 < text.count, text[index + 2] == UInt8(ascii: "0"),
            text[index + 3] == UInt8(ascii: "0"), let high = hex(text[index + 4]), high < 8, let low = hex(text[index + 5])
        {
            return (high << 4 | low, 6)
        }
        return (byte, 1)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
