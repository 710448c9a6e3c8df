//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Why a round trip to the store failed (an error *reply* is a ``RESPValue/error(_:)``, not this).
///
/// `code` is ``unavailableCode`` ("store_unavailable": cannot connect, login refused, connection lost,
/// invalid reply) or ``timeoutCode`` ("store_timeout": no complete reply within the timeout). Either way
/// the connection is closed and the next call reconnects. `message` names the store's host and port
/// and never contains the password: the client never puts a credential or a command argument into
/// it, and of a refused login it keeps only the server's error code (`WRONGPASS`, `ERR`).
struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    static let unavailableCode = "store_unavailable"
    static let timeoutCode = "store_timeout"

    var code: String
    var message: String

    var description: String { "\(self.code): \(self.message)" }

    static func unavailable(_ message: String) -> RedisError {
        RedisError(code: Self.unavailableCode, message: message)
    }

    static func timeout(_ message: String) -> RedisError {
        RedisError(code: Self.timeoutCode, message: message)
    }
}
