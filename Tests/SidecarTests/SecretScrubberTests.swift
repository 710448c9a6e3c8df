//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

/// The one scrubber every provider byte bound for a client goes through: keys in any encoding,
/// fragments, key shapes, split reads, and every field of an error.
@Suite struct SecretScrubberTests {
    static let key = "sk-SENTINEL-unit-9d2f6c1a4b7e8053"
    static let other = "AIzaSENTINEL-gemini-6f04d9b2e18c7a53"
    let scrubber = SecretScrubber(keys: [Secret(value: Self.key), Secret(value: Self.other), Secret(value: "none")])

    static func percentEncoded(_ text: String, everything: Bool) -> String {
        text.utf8.map { byte in
            everything || byte == UInt8(ascii: "-") ? "%" + String(byte, radix: 16, uppercase: true) : String(UnicodeScalar(byte))
        }.joined()
    }

    static let echoes: [String] = [
        "Incorrect API key provided: \(key).",
        "{\"param\":\"\(key)\"}",
        "key=\(percentEncoded(key, everything: false))&x=1",
        "key: \(percentEncoded(key, everything: true))",
        "{\"code\":\"\(key.replacing("-", with: "\\u002d"))\"}",
        "Authorization: Basic \(Data("user:\(key)".utf8).base64EncodedString())",
        "token \(Data(key.utf8).base64EncodedString())",
        "token \(Data("ab\(key)".utf8).base64EncodedString().replacing("+", with: "-").replacing("/", with: "_"))",
        "prefix only: \(key.prefix(20))…",
        "suffix only: …\(key.suffix(14))",
        "gemini \(other) and openai \(key) together",
        "{\"metadata\":{\"headers\":{\"x-goog-api-key\":\"\(other)\"}}}",
    ]

    @Test(arguments: Self.echoes)
    func anErrorLosesEveryFormOfAKey(text: String) {
        let scrubbed = self.scrubber.scrub(text, mode: .error)
        #expect(scrubbed.contains("[redacted]"), "\(scrubbed)")
        #expect(!scrubbed.contains("SENTINEL"), "\(scrubbed)")
        #expect(!scrubbed.contains("8053"), "\(scrubbed)")
        #expect(!scrubbed.contains(Data(Self.key.utf8).base64EncodedString().dropFirst(4).prefix(16)), "\(scrubbed)")
    }

    @Test(arguments: [
        ("Incorrect API key provided: sk-proj-abcdefghijklmnop1234.", "Incorrect API key provided: [redacted]."),
        ("key AIzaSyA1234567890abcdefghijklmnop is invalid", "key [redacted] is invalid"),
        ("header was Bearer abcdefghijklmnopqrstuv", "header was Bearer [redacted]"),
        ("{\"x-api-key\": \"abcdefgh12345678\"}", "{\"x-api-key\": \"[redacted]\"}"),
        ("https://host/v1?key=zzzzzzzzzzzz1&alt=sse", "https://host/v1?key=[redacted]&alt=sse"),
        ("the masked key sk-proj-****abcd is wrong", "the masked key sk-proj-****abcd is wrong"),
        ("task-classification-model-large is unknown", "task-classification-model-large is unknown"),
        ("none of these is a key", "none of these is a key"),
        ("nothing secret here", "nothing secret here"),
    ])
    func keyShapesAreRedactedInErrors(text: String, scrubbed: String) {
        #expect(self.scrubber.scrub(text, mode: .error) == scrubbed)
    }

    @Test func answersLoseConfiguredKeysButKeepTheModelsText() {
        let answer = "{\"content\":\"OpenAI keys look like sk-proj-abcdefghijklmnop1234\",\"debug\":{\"auth\":\"Bearer \(Self.key)\"}}"
        let scrubbed = self.scrubber.scrub(answer, mode: .answer)
        #expect(scrubbed == "{\"content\":\"OpenAI keys look like sk-proj-abcdefghijklmnop1234\",\"debug\":{\"auth\":\"Bearer [redacted]\"}}")
    }

    @Test func jsonStaysValidAroundAnEscapeBeforeTheKey() throws {
        let body = Array("{\"message\":\"bad key:\\n\(Self.key)\\\" end\"}".utf8)
        let scrubbed = self.scrubber.scrub(body, mode: .error)
        let message = try #require(JSONValue.parse(scrubbed)["message"]?.stringValue)
        #expect(message == "bad key:[redacted]\" end")
    }

    @Test(arguments: [1, 2, 3, 5, 7, 64])
    func aKeySplitAcrossReadsIsFound(pieceSize: Int) {
        let body = Array("data: {\"echo\":\"\(Self.key)\",\"b64\":\"\(Data(Self.key.utf8).base64EncodedString())\"}\n\n".utf8)
        var stream = SecretScrubber.Stream(self.scrubber)
        var output: [UInt8] = []
        for start in stride(from: 0, to: body.count, by: pieceSize) {
            output += stream.feed(Array(body[start..<min(start + pieceSize, body.count)]))
        }
        output += stream.finish()
        #expect(String(decoding: output, as: UTF8.self) == "data: {\"echo\":\"[redacted]\",\"b64\":\"[redacted]\"}\n\n")
    }

    @Test func wholeEventsAreNotHeldBack() {
        var stream = SecretScrubber.Stream(self.scrubber)
        #expect(stream.feed(Array("data: {\"a\":1}\n\n".utf8)) == Array("data: {\"a\":1}\n\n".utf8))
    }

    @Test func everyFieldOfAProviderErrorIsScrubbed() {
        let failure = UpstreamFailure(
            kind: .badRequest,
            upstreamStatus: 400,
            message: "bad \(Self.key)",
            type: "type-\(Self.key)",
            code: "code \(Self.key)",
            param: Self.key
        )
        let error = self.scrubber.scrub(ProxyError(upstream: failure, provider: "openai", retryAfter: nil))
        let rendered = String(decoding: error.openAIBody.json.serialized(), as: UTF8.self)
        #expect(!rendered.contains("SENTINEL"), "\(rendered)")
        #expect(error.param == "[redacted]")
    }

    @Test func retiredKeysAreStillFoundButBounded() {
        let retired = (0..<40).map { Secret(value: "sk-retired-\($0)-0123456789abcdef") }
        let scrubber = SecretScrubber(keys: [Secret(value: Self.key)], retired: retired)
        #expect(scrubber.secrets.count == 1 + SecretScrubber.retiredKeyLimit)
        #expect(scrubber.scrub("old sk-retired-3-0123456789abcdef", mode: .answer) == "old [redacted]")
    }
}
