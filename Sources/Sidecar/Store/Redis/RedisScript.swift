//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import COpenSSL
import SidecarModel

/// A Lua script, run with `EVALSHA` by ``RedisClient/run(_:)``: its SHA-1 (40 lower-case hex digits,
/// the name the server caches it under) is computed once, here.
struct RedisScript: Sendable, Hashable {
    let source: String
    let sha1: String

    init(_ source: String) {
        self.source = source
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        let bytes = Array(source.utf8)
        bytes.withUnsafeBufferPointer { input in
            digest.withUnsafeMutableBufferPointer { output in
                _ = COpenSSL.SHA1(input.baseAddress, input.count, output.baseAddress)
            }
        }
        self.sha1 = SidecarModel.SHA256.hexadecimal(digest)
    }

    /// `EVALSHA sha1 numkeys key… argument…`.
    func evalsha(keys: [String], arguments: [String]) -> [RedisArgument] {
        let head: [RedisArgument] = ["EVALSHA", RedisArgument(self.sha1), RedisArgument(Int64(keys.count))]
        return head + keys.map { RedisArgument($0) } + arguments.map { RedisArgument($0) }
    }

    /// `SCRIPT LOAD source`.
    var load: [RedisArgument] { ["SCRIPT", "LOAD", RedisArgument(self.source)] }
}
