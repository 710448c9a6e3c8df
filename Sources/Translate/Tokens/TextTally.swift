//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Counts characters by script to estimate tokens when a provider reports no usage.
///
/// The estimate is ⌈other characters ÷ 4⌉ + CJK characters × 1: English-like text averages
/// about four characters per token in the GPT-4o, DeepSeek and Qwen vocabularies, while
/// Chinese, Japanese and Korean text averages close to one token per character. The tally is
/// additive, so a streamed answer tallied chunk by chunk gives exactly the estimate of the
/// same text tallied at once.
public struct TextTally: Sendable, Hashable {
    public private(set) var cjkCharacters = 0
    public private(set) var otherCharacters = 0

    public init() {}

    public init(_ text: String) {
        self.add(text)
    }

    public mutating func add(_ text: String) {
        for scalar in text.unicodeScalars {
            if Self.isCJK(scalar) {
                self.cjkCharacters += 1
            } else {
                self.otherCharacters += 1
            }
        }
    }

    public mutating func add(_ other: TextTally) {
        self.cjkCharacters += other.cjkCharacters
        self.otherCharacters += other.otherCharacters
    }

    public var isEmpty: Bool { self.cjkCharacters == 0 && self.otherCharacters == 0 }

    /// The estimated token count.
    public var estimatedTokens: Int { self.cjkCharacters + (self.otherCharacters + 3) / 4 }

    private static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x3040...0x30FF,  // Hiragana, Katakana
            0x3400...0x4DBF,  // CJK Extension A
            0x4E00...0x9FFF,  // CJK Unified Ideographs
            0xAC00...0xD7AF,  // Hangul syllables
            0xF900...0xFAFF,  // CJK compatibility ideographs
            0xFF00...0xFFEF,  // Full-width forms
            0x3000...0x303F,  // CJK punctuation
            0x20000...0x2FA1F:  // Extensions B–F
            true
        default:
            false
        }
    }
}
