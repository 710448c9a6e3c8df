//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// A `200` answer without the list a dialect requires (OpenAI `choices`, Gemini `candidates`,
/// Anthropic `content`, DashScope `output.choices`), or with an error object inside, is the
/// provider's malformed answer — never a success passed on to the client.
@Suite struct MalformedAnswerTests {
    static let dialects: [(String, any Dialect)] = [
        ("openai", OpenAICompatibleDialect(quirks: .openAI)),
        ("gemini", GeminiDialect()),
        ("anthropic", AnthropicDialect()),
        ("dashscope-native", DashScopeNativeDialect()),
    ]

    static let cases: [(dialect: String, body: String)] = [
        ("openai", #"{"id":"x","object":"chat.completion","choices":null}"#),
        ("openai", #"{"id":"x","object":"chat.completion"}"#),
        ("openai", #"{"id":"x","choices":"none"}"#),
        ("openai", #"{"id":"x","choices":[]}"#),
        ("openai", #"{"id":"x","choices":[null]}"#),
        ("openai", #"{"error":{"message":"overloaded","type":"server_error"},"choices":[{"index":0}]}"#),
        ("gemini", #"{"candidates":null}"#),
        ("gemini", #"{"error":{"code":500,"message":"internal","status":"INTERNAL"}}"#),
        ("anthropic", #"{"type":"message","role":"assistant","content":null}"#),
        ("anthropic", #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
        ("dashscope-native", #"{"output":null,"request_id":"r"}"#),
        ("dashscope-native", #"{"output":{"choices":null},"request_id":"r"}"#),
        ("dashscope-native", #"{"output":{"choices":[]},"request_id":"r"}"#),
        ("dashscope-native", #"{"code":"InternalError","message":"failed","request_id":"r"}"#),
    ]

    @Test(arguments: Self.cases)
    func isMalformed(dialect name: String, body: String) throws {
        let dialect = try #require(Self.dialects.first { $0.0 == name }?.1)
        let request = try chatRequest(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
        let error = #expect(throws: TranslationError.self) {
            try dialect.decodeResponse(Array(body.utf8), for: request, context: testResponseContext)
        }
        #expect(error?.code == .malformedUpstreamPayload)
        #expect(error?.isClientError == false)
    }

    @Test(arguments: [#"{"object":"list","data":null}"#, #"{"object":"list","data":[]}"#, #"{"error":{"message":"x"}}"#])
    func embeddingsWithoutDataAreMalformed(body: String) throws {
        let request = try EmbeddingsRequest(parsing: Array(#"{"model":"m","input":"x"}"#.utf8))
        let error = #expect(throws: TranslationError.self) {
            try OpenAICompatibleDialect(quirks: .openAI).decodeEmbeddingsResponse(Array(body.utf8), for: request)
        }
        #expect(error?.code == .malformedUpstreamPayload)
    }
}
