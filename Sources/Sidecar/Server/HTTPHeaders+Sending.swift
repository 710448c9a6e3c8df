//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1

extension HTTPHeaders {
    /// The headers with every value safe to write: a control character other than a tab
    /// (CR, LF, NUL, …, DEL) is replaced by its percent escape (`%0D%0A`), so no value can end
    /// its header line, add another or split the response. Every ``ServerResponse`` passes its
    /// headers through here; NIO's outbound header validation stays on behind it as a backstop.
    ///
    /// The common case — no such byte — costs one scan over the values and no copy.
    func escapedForSending() -> HTTPHeaders {
        guard self.contains(where: { Self.holdsControlCharacter($0.value) }) else { return self }
        var escaped = HTTPHeaders()
        for (name, value) in self {
            escaped.add(name: name, value: Self.holdsControlCharacter(value) ? Self.escaped(value) : value)
        }
        return escaped
    }

    /// Whether `value` holds a byte that may not be written raw in a header value: a control
    /// character other than a tab, or DEL.
    static func holdsControlCharacter(_ value: String) -> Bool {
        value.utf8.contains(where: Self.isControl)
    }

    private static func isControl(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F
    }

    private static func escaped(_ value: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count + 8)
        let digits = Array("0123456789ABCDEF".utf8)
        for byte in value.utf8 {
            if Self.isControl(byte) {
                bytes.append(contentsOf: [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
