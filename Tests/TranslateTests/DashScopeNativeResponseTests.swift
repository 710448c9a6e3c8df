//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// Native DashScope answers, errors and embeddings → OpenAI.
@Suite struct DashScopeNativeResponseTests {
    let dashScope = DashScopeNativeDialect()

    func decode(_ json: String) throws -> ChatResponse {
        let request = try chatRequest(#"{"model":"qwen-alias","messages":[{"role":"user","content":"x"}]}"#)
        return try self.dashScope.decodeResponse(Array(json.utf8), for: request, context: testResponseContext)
    }

    @Test func answerWithReasoningCacheAndReasoningTokens() throws {
        let response = try self.decode(
            #"{"output":{"choices":[{"finish_reason":"stop","message":{"role":"assistant","content":"Rome is 21 C.","#
                + #""reasoning_content":"The user wants the weather."}}]},"usage":{"input_tokens":120,"output_tokens":40,"total_tokens":160,"#
                + #""prompt_tokens_details":{"cached_tokens":64},"output_tokens_details":{"reasoning_tokens":25}},"#
                + #""request_id":"5f0d3c2a-1b2c-4d5e-8f90-123456789abc"}"#
        )
        #expect(
            JSONValue.object(response.body) == [
                "id": "5f0d3c2a-1b2c-4d5e-8f90-123456789abc",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": .string(testResponseContext.model),
                "choices": [
                    [
                        "index": 0,
                        "message": [
                            "role": "assistant", "content": "Rome is 21 C.", "reasoning_content": "The user wants the weather.", "refusal": nil,
                        ],
                        "logprobs": nil,
                        "finish_reason": "stop",
                    ]
                ],
                "usage": [
                    "prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160, "prompt_tokens_details": ["cached_tokens": 64],
                    "completion_tokens_details": ["reasoning_tokens": 25],
                ],
            ]
        )
        #expect(response.usage == Usage(inputTokens: 120, outputTokens: 40, cachedInputTokens: 64, reasoningTokens: 25))
        #expect(response.responseID == "5f0d3c2a-1b2c-4d5e-8f90-123456789abc")
        #expect(response.text == "Rome is 21 C.")
    }

    @Test func toolCallsAnswer() throws {
        let response = try self.decode(
            #"{"output":{"choices":[{"finish_reason":"tool_calls","message":{"role":"assistant","content":"","tool_calls":["#
                + #"{"function":{"name":"weather","arguments":"{\"city\": \"Rome\"}"},"index":0,"id":"call_9f","type":"function"},"#
                + #"{"function":{"name":"time","arguments":""},"index":1,"type":"function"}]}}]},"#
                + #""usage":{"input_tokens":10,"output_tokens":5,"total_tokens":15}}"#
        )
        #expect(
            JSONValue.object(response.body)["choices"]?[0] == [
                "index": 0,
                "message": [
                    "role": "assistant", "content": nil, "refusal": nil,
                    "tool_calls": [
                        ["id": "call_9f", "type": "function", "function": ["name": "weather", "arguments": #"{"city": "Rome"}"#]],
                        ["id": "call_test_1", "type": "function", "function": ["name": "time", "arguments": "{}"]],
                    ],
                ],
                "logprobs": nil,
                "finish_reason": "tool_calls",
            ]
        )
        #expect(response.responseID == "chatcmpl-test", "no request_id: the context's id")
    }

    @Test(arguments: [("stop", "stop"), ("length", "length"), ("tool_calls", "tool_calls"), ("content_filter", "content_filter"), ("null", "stop")])
    func finishReasonsMap(dashScope: String, openAI: String) throws {
        let response = try self.decode(#"{"output":{"choices":[{"finish_reason":"\#(dashScope)","message":{"role":"assistant","content":"x"}}]}}"#)
        #expect(response.finishReasons == [openAI])
    }

    @Test func legacyTextFormatAndSeveralChoices() throws {
        let text = try self.decode(
            #"{"output":{"text":"Hi","finish_reason":"length"},"usage":{"input_tokens":3,"output_tokens":1},"request_id":"r"}"#
        )
        #expect(text.text == "Hi")
        #expect(text.finishReasons == ["length"])
        #expect(text.usage == Usage(inputTokens: 3, outputTokens: 1))
        let several = try self.decode(
            #"{"output":{"choices":[{"finish_reason":"stop","message":{"role":"assistant","content":"A"}},"#
                + #"{"finish_reason":"length","message":{"role":"assistant","content":[{"text":"B"},{"text":"C"}]}}]}}"#
        )
        let choices = JSONValue.object(several.body)["choices"]?.arrayValue ?? []
        #expect(choices.map { $0["index"] } == [0, 1])
        #expect(choices.map { $0["message"]?["content"] } == ["A", "BC"])
        #expect(several.finishReasons == ["stop", "length"])
    }

    @Test(arguments: ["nope", "{}", #"{"output":{}}"#, #"{"output":{"choices":[{"finish_reason":"stop"}]}}"#])
    func malformedAnswersAreTheProvidersFault(body: String) throws {
        let error = #expect(throws: TranslationError.self) { try self.decode(body) }
        #expect(error?.code == .malformedUpstreamPayload)
    }

    // MARK: Errors

    @Test func recordedKeyErrorIsAuthentication() throws {
        let failure = self.dashScope.decodeError(status: 401, body: try Fixture.bytes("dashscope/native_error_401.json"))
        #expect(failure.kind == .authentication)
        #expect(failure.upstreamStatus == 401)
        #expect(failure.code == "InvalidApiKey")
        #expect(failure.message == "Invalid API-key provided.")
    }

    @Test(arguments: [
        (400, "InvalidParameter", UpstreamFailure.Kind.badRequest), (400, "BadRequest.EmptyInput", .badRequest),
        (400, "DataInspectionFailed", .contentFilter),
        (400, "Arrearage", .quotaExhausted), (429, "Throttling.RateQuota", .rateLimited), (400, "Throttling.AllocationQuota", .rateLimited),
        (500, "InternalError.Algo", .serverError), (500, "InternalError.Timeout", .timeout), (403, "AccessDenied", .permission),
        (404, "ModelNotFound", .notFound), (503, "SomethingNew", .overloaded), (418, "SomethingNew", .badRequest),
    ])
    func codesAreClassifiedBeforeStatuses(status: Int, code: String, kind: UpstreamFailure.Kind) {
        let body = #"{"code":"\#(code)","message":"m","request_id":"r"}"#
        let failure = self.dashScope.decodeError(status: status, body: Array(body.utf8))
        #expect(failure.kind == kind)
        #expect(failure.code == code)
        #expect(failure.message == "m")
    }

    @Test func errorsWithoutADashScopeBodyClassifyByStatus() {
        let failure = self.dashScope.decodeError(status: 429, body: Array("Too Many Requests".utf8))
        #expect(failure.kind == .rateLimited)
        #expect(failure.message.contains("429"))
    }

    // MARK: Embeddings

    @Test func embeddingsRequestGoesToTheTextEmbeddingService() throws {
        let request = try EmbeddingsRequest(parsing: Array(#"{"model":"emb","input":["a","b"],"dimensions":512,"encoding_format":"float"}"#.utf8))
        let encoded = try self.dashScope.encodeEmbeddingsRequest(request, target: UpstreamTarget(model: "text-embedding-v4"))
        #expect(encoded.path == "/api/v1/services/embeddings/text-embedding/text-embedding")
        #expect(encoded.path != "/api/v1/services/aigc/text-generation/generation")
        #expect(
            try JSONValue.parse(encoded.body) == ["model": "text-embedding-v4", "input": ["texts": ["a", "b"]], "parameters": ["dimension": 512]]
        )
        let tokens = try EmbeddingsRequest(parsing: Array(#"{"model":"emb","input":[[1,2]]}"#.utf8))
        let error = #expect(throws: TranslationError.self) { try self.dashScope.encodeEmbeddingsRequest(tokens, target: UpstreamTarget(model: "e")) }
        #expect(error?.param == "input[0]")
    }

    @Test func embeddingsAnswerIsOrderedByTextIndexAndCountsTokens() throws {
        let request = try EmbeddingsRequest(parsing: Array(#"{"model":"emb","input":["a","b"]}"#.utf8))
        let answer =
            #"{"output":{"embeddings":[{"text_index":1,"embedding":[0.5,-1]},{"text_index":0,"embedding":[1.0,-2.0]}]},"#
            + #""usage":{"total_tokens":7},"request_id":"r"}"#
        let response = try self.dashScope.decodeEmbeddingsResponse(Array(answer.utf8), for: request)
        #expect(
            JSONValue.object(response.body) == [
                "object": "list",
                "data": [["object": "embedding", "index": 0, "embedding": [1, -2]], ["object": "embedding", "index": 1, "embedding": [0.5, -1]]],
                "model": "emb",
                "usage": ["prompt_tokens": 7, "total_tokens": 7],
            ]
        )
        #expect(response.inputTokens == 7)
        let base64 = try EmbeddingsRequest(parsing: Array(#"{"model":"emb","input":["a","b"],"encoding_format":"base64"}"#.utf8))
        let encoded = try self.dashScope.decodeEmbeddingsResponse(Array(answer.utf8), for: base64)
        #expect(JSONValue.object(encoded.body)["data"]?[0]?["embedding"] == "AACAPwAAAMA=")
    }
}
