//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension SecretScrubber {
    /// Scrubs a successful answer relayed in pieces (``Mode/answer``), so a key split across
    /// network reads is still found. (Error bodies are small and scrubbed whole.)
    ///
    /// Each piece is passed on at once except its trailing token (the characters a key or its
    /// encoding is made of), held back until the next piece shows where it ends — at most six
    /// times the longest pattern plus 16 bytes (a fully percent- or `\u`-escaped key). A server-sent
    /// event ends with a blank line, so whole events are never delayed.
    struct Stream: Sendable {
        let scrubber: SecretScrubber
        private var pending: [UInt8] = []

        init(_ scrubber: SecretScrubber) {
            self.scrubber = scrubber
        }

        /// The scrubbed bytes that can be passed on after `piece`.
        mutating func feed(_ piece: [UInt8]) -> [UInt8] {
            let data = self.pending.isEmpty ? piece : self.pending + piece
            guard !self.scrubber.patterns.isEmpty else { return data }
            let ranges = self.scrubber.redactions(in: data, mode: .answer)
            let hold = min(self.scrubber.longestPattern * 6 + 16, data.reversed().prefix { Self.mayContinue($0) }.count)
            var cut = data.count - hold
            for range in ranges where range.lowerBound < cut && range.upperBound > cut { cut = range.lowerBound }
            self.pending = Array(data[cut...])
            return SecretScrubber.apply(ranges.filter { $0.upperBound <= cut }, to: Array(data[..<cut]))
        }

        /// The rest, once the body ended.
        mutating func finish() -> [UInt8] {
            defer { self.pending = [] }
            return self.scrubber.scrub(self.pending, mode: .answer)
        }

        private static func mayContinue(_ byte: UInt8) -> Bool {
            SecretScrubber.isTokenCharacter(byte) || byte == UInt8(ascii: "\\")
        }
    }
}
