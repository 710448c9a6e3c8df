//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What may be written raw in an HTTP header value: the configuration refuses headers and keys
/// that break this, and every response the server writes escapes what does.
package enum HeaderValue {
    /// Whether `value` holds a byte that may not be written raw in a header value: a control
    /// character other than a tab, or DEL.
    package static func holdsControlCharacter(_ value: String) -> Bool {
        value.utf8.contains(where: Self.isControl)
    }

    private static func isControl(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != UInt8(ascii: "\t")) || byte == 0x7F
    }

    /// `value` with each such byte replaced by its percent escape (CR LF becomes `%0D%0A`).
    package static func escaped(_ value: String) -> String {
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
