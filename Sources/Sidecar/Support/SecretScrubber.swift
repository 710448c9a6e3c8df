//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

/// Removes provider keys from everything a provider sends that reaches a client: every field of
/// an error (message, type, code, param, nested details), in-stream error events of every
/// dialect, passthrough bodies and the provider headers the sidecar forwards. One instance per
/// configuration snapshot knows every key of every provider, plus keys retired by a rotation.
///
/// Two strengths, because a successful answer is the model's text and an error is the provider's:
///
/// - ``Mode/answer`` (successful answers, whole or streamed): each configured key is redacted
///   wherever it appears in full — literally, percent-encoded (`%2D`, partly or wholly), JSON-escaped
///   (`\u002d`, `\/`), or inside base64 at any alignment (`Basic` auth, standard or URL alphabet).
/// - ``Mode/error`` (everything a provider sends in an error): the above, plus any run of at least
///   ``fragmentLength`` (12) consecutive characters of a key (a prefix, a suffix, a truncated or
///   split echo), plus anything shaped like a credential (see ``shapeRanges(in:)``), configured or not.
///
/// A match is widened to the whole token around it (letters, digits and `-_~+/=%`, at most 256
/// bytes each side) and replaced by `[redacted]`. Keys shorter than ``minimumKeyLength`` (8) are
/// placeholders for local servers (`none`, `x`) and are not searched for. Fragments shorter than
/// 12 characters are left alone: providers themselves print masked keys such as `sk-proj-****abcd`.
struct SecretScrubber: Sendable {
    /// What replaces a secret.
    static let replacement: [UInt8] = Array("[redacted]".utf8)
    /// Keys shorter than this (8) are not searched for.
    static let minimumKeyLength = 8
    /// The shortest run of a key's characters redacted in error text (12).
    static let fragmentLength = 12
    /// How many keys retired by rotations or reloads are still searched for (32, newest kept).
    static let retiredKeyLimit = 32

    /// How thoroughly to search.
    enum Mode: Sendable {
        /// A successful answer: configured keys in any encoding.
        case answer
        /// A provider's error: configured keys, their fragments, and credential shapes.
        case error
    }

    /// Every key searched for: the current ones, then retired ones.
    let secrets: [Secret]
    /// Each key, and its base64 forms at the three alignments (standard and URL alphabet).
    let patterns: [[UInt8]]
    /// Indices into ``patterns`` by their first byte (256 entries).
    let patternsByFirstByte: [[Int]]
    /// Every ``fragmentLength``-byte window of every key.
    let fragments: Set<Window>
    /// The longest pattern, for how much a stream must hold back (``Stream``).
    let longestPattern: Int

    /// - Parameters:
    ///   - keys: the keys of every configured provider.
    ///   - retired: keys searched for although no longer configured (the previous snapshot's
    ///     ``secrets``); the newest ``retiredKeyLimit`` are kept.
    init(keys: [Secret], retired: [Secret] = []) {
        var secrets: [Secret] = []
        for key in keys where key.value.utf8.count >= Self.minimumKeyLength && !secrets.contains(key) { secrets.append(key) }
        let current = secrets.count
        for key in retired where key.value.utf8.count >= Self.minimumKeyLength && !secrets.contains(key) {
            guard secrets.count - current < Self.retiredKeyLimit else { break }
            secrets.append(key)
        }
        self.secrets = secrets
        var patterns: [[UInt8]] = []
        var fragments = Set<Window>()
        for secret in secrets {
            let key = Array(secret.value.utf8)
            patterns.append(key)
            patterns.append(contentsOf: Self.base64Forms(of: key))
            for start in 0...(max(key.count, Self.fragmentLength) - Self.fragmentLength) where key.count >= Self.fragmentLength {
                fragments.insert(Window(key[start..<start + Self.fragmentLength]))
            }
        }
        self.patterns = patterns
        var byFirstByte = [[Int]](repeating: [], count: 256)
        for (index, pattern) in patterns.enumerated() { byFirstByte[Int(pattern[0])].append(index) }
        self.patternsByFirstByte = byFirstByte
        self.fragments = fragments
        self.longestPattern = patterns.map(\.count).max() ?? 0
    }

    /// `text` without secrets.
    func scrub(_ text: String, mode: Mode = .error) -> String {
        let bytes = Array(text.utf8)
        let ranges = self.redactions(in: bytes, mode: mode)
        guard !ranges.isEmpty else { return text }
        return String(decoding: Self.apply(ranges, to: bytes), as: UTF8.self)
    }

    /// `bytes` without secrets.
    func scrub(_ bytes: [UInt8], mode: Mode) -> [UInt8] {
        let ranges = self.redactions(in: bytes, mode: mode)
        return ranges.isEmpty ? bytes : Self.apply(ranges, to: bytes)
    }

    /// `error` with every field a provider can fill scrubbed.
    func scrub(_ error: ProxyError) -> ProxyError {
        var error = error
        error.message = self.scrub(error.message)
        error.type = self.scrub(error.type)
        error.param = error.param.map { self.scrub($0) }
        error.envelopeCode = error.envelopeCode.map { self.scrub($0) }
        return error
    }

    /// Replaces each (sorted, disjoint) range with ``replacement``.
    static func apply(_ ranges: [Range<Int>], to bytes: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var position = 0
        for range in ranges {
            output.append(contentsOf: bytes[position..<range.lowerBound])
            output.append(contentsOf: Self.replacement)
            position = range.upperBound
        }
        output.append(contentsOf: bytes[position...])
        return output
    }
}
