//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore

/// One word of a command (`"SET"`, a key, a value): bytes, always sent as a RESP bulk string with its
/// byte length (`$5\r\nhello\r\n`), so CR, LF or any other byte inside it is data and can never end
/// the command or start another.
struct RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    var bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }
    init(_ string: String) { self.bytes = Array(string.utf8) }
    init(_ integer: Int64) { self.bytes = Array(String(integer).utf8) }
    init(stringLiteral value: String) { self.init(value) }
    init(integerLiteral value: Int64) { self.init(value) }
}

extension ByteBuffer {
    /// Appends `command` as a RESP2 array of bulk strings: `*<n>\r\n` then `$<length>\r\n<bytes>\r\n`
    /// for each argument.
    ///
    /// - Precondition: `command` is not empty. The server answers an empty array with nothing at all,
    ///   which would shift every later reply onto the wrong caller.
    mutating func writeRedisCommand(_ command: [RedisArgument]) {
        precondition(!command.isEmpty, "a Redis command needs at least its name")
        self.writeRESPHeader(UInt8(ascii: "*"), command.count)
        for argument in command {
            self.writeRESPHeader(UInt8(ascii: "$"), argument.bytes.count)
            self.writeBytes(argument.bytes)
            self.writeStaticString("\r\n")
        }
    }

    private mutating func writeRESPHeader(_ type: UInt8, _ count: Int) {
        self.writeInteger(type)
        self.writeString(String(count))
        self.writeStaticString("\r\n")
    }
}
