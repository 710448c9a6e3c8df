//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1
import SidecarModel

/// The Anthropic headers a Messages client sends that reach an `anthropic` provider:
/// `anthropic-version` (a date, `2023-06-01`) and `anthropic-beta` (comma-separated flags such
/// as `prompt-caching-2024-07-31`, on one line or several). Checked before they are forwarded: a
/// version is `YYYY-MM-DD`, a flag at most ``maximumFlagBytes`` of letters, digits, `-`, `_` and
/// `.`, at most ``maximumFlags`` of them; anything else is a 400 naming the header. The client's
/// `x-api-key` is its sidecar token and is never forwarded.
struct AnthropicClientHeaders: Sendable {
    /// The most beta flags forwarded (16).
    static let maximumFlags = 16
    /// The longest beta flag forwarded (64 bytes; Anthropic's are about 30).
    static let maximumFlagBytes = 64

    var version: String?
    var betas: [String] = []

    init(_ request: ServerRequest) throws(ProxyError) {
        if let version = request.header("anthropic-version") {
            let bytes = Array(version.utf8)
            let isDate =
                bytes.count == 10
                && bytes.enumerated().allSatisfy { index, byte in
                    index == 4 || index == 7 ? byte == UInt8(ascii: "-") : (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                }
            guard isDate else {
                throw ProxyError(.invalidRequest, "The anthropic-version header must be a date such as 2023-06-01.", param: "anthropic-version")
            }
            self.version = version
        }
        // Every `anthropic-beta` line counts, as if joined by commas.
        let values = request.headers["anthropic-beta"]
        guard !values.isEmpty else { return }
        let flags = values.joined(separator: ",").split(separator: ",").map { String($0.trimmed) }.filter { !$0.isEmpty }
        guard flags.count <= Self.maximumFlags, flags.allSatisfy(Self.isFlag) else {
            throw ProxyError(
                .invalidRequest,
                "The anthropic-beta header must hold at most \(Self.maximumFlags) comma-separated flags of at most "
                    + "\(Self.maximumFlagBytes) letters, digits, '-', '_' or '.'.",
                param: "anthropic-beta"
            )
        }
        self.betas = flags
    }

    private static func isFlag(_ flag: String) -> Bool {
        flag.utf8.count <= Self.maximumFlagBytes
            && flag.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."): true
                default: false
                }
            }
    }
}
