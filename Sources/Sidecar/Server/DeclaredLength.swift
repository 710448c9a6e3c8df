//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1

/// A request's `Content-Length`, validated (RFC 9112 §6.3): one or more fields or list
/// members that are all the same run of ASCII digits. Anything else — empty, signed, not a
/// number, or differing values — leaves the body's framing unknowable: the request gets 400
/// and the connection is closed.
struct DeclaredLength: Sendable, Hashable {
    /// The declared body size, `Int.max` for any number beyond it (such as 2^63); `nil` when no
    /// `Content-Length` was sent.
    var bytes: Int?

    /// `nil` when the header is present but invalid.
    init?(_ headers: HTTPHeaders) {
        let values = headers[canonicalForm: "content-length"]
        guard let first = values.first else {
            self.bytes = nil
            return
        }
        guard values.allSatisfy({ $0 == first }), !first.isEmpty, first.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
            return nil
        }
        let significant = first.drop { $0 == "0" }
        self.bytes = significant.count > 18 ? Int.max : Int(significant) ?? 0
    }
}
