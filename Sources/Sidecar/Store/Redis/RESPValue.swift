//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One RESP2 reply from the store.
///
/// An error reply (`-ERR …`, `-NOSCRIPT …`, `-WRONGTYPE …`) is a value, `.error`, never a thrown
/// error: a pipeline's other replies stay usable, and only a failed round trip throws ``RedisError``.
/// A nil bulk string (`$-1`) and a nil array (`*-1`) are `.bulkString(nil)` and `.array(nil)`.
/// What the decoder accepts is bounded; see ``RESPDecoder``.
enum RESPValue: Sendable, Hashable {
    /// `+OK`: a status line, at most 64 KiB.
    case simpleString(String)
    /// `-ERR message`: the server's error line, at most 64 KiB.
    case error(String)
    /// `:42`: a signed 64-bit integer.
    case integer(Int64)
    /// `$3 abc`: binary-safe bytes (at most 512 MiB), or nil for `$-1`.
    case bulkString([UInt8]?)
    /// `*2 …`: at most 1,048,576 elements, nested at most 32 deep, or nil for `*-1`.
    case array([RESPValue]?)
}

extension RESPValue {
    /// The text of a simple or bulk string (bytes decoded as UTF-8, invalid sequences replaced), else nil.
    var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes?): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The value of an integer reply, else nil.
    var integer: Int64? {
        if case .integer(let value) = self { value } else { nil }
    }

    /// The message of an error reply, else nil.
    var errorMessage: String? {
        if case .error(let message) = self { message } else { nil }
    }
}
