//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

@testable import Sidecar
@testable import SidecarModel

/// A path already in normal form is returned as it is; the shortcut must agree with the full
/// segment-by-segment normalisation on every path, normal or not.
@Suite struct RequestPathFastPathTests {
    /// 5,000 random paths over an alphabet rich in what normalisation acts on: dots, slashes,
    /// escapes (`%2e`, `%2F`, `%41`), and the unreserved characters.
    @Test func theShortcutAgreesWithTheFullNormalisation() {
        let pieces = ["/", "/", "a", "v1", ".", "..", "...", "%2e", "%2E", "%2F", "%41", "-", "_", "~", "chat", "x.y"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let path = "/" + (0..<Int.random(in: 0...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let quick = Self.outcome { () throws(ProxyError) in try RequestPath.normalized(path, query: nil) }
            let full = Self.outcome { () throws(ProxyError) in try RequestPath.normalizedBySegments(path) }
            #expect(quick == full, "\(path)")
        }
    }

    /// The normal form, or the refusal's code.
    static func outcome(_ normalize: () throws(ProxyError) -> String) -> String {
        do {
            return try normalize()
        } catch {
            return "refused: \(error.code)"
        }
    }

    @Test func normalPathsAreKeptAsTheyAre() throws {
        for path in ["/v1/chat/completions", "/api/v1/usage/stats", "/v1/models/qwen-max...x"] {
            #expect(try RequestPath.normalized(path, query: nil) == path)
        }
        #expect(try RequestPath.normalized("/v1/./chat/completions/", query: nil) == "/v1/chat/completions")
        #expect(try RequestPath.normalized("/", query: nil) == "/")
    }
}
