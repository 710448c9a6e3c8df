//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// Gemini `generateContent` answers → OpenAI `chat.completion` objects.
@Suite struct GeminiResponseTests {
    let gemini = GeminiDialect()

    func decode(_ json: String, model: String = "gemini-alias") throws -> ChatResponse {
        let request = try chatRequest(#"{"model":"\#(model)","messages":[{"role":"user","content":"x"}]}"#)
        return try self.gemini.decodeResponse(Array(json.utf8), for: request, context: testResponseContext)
    }

    func decodeFixture(_ fixture: String) throws -> ChatResponse {
        let request = try chatRequest(#"{"model":"gemini-alias","messages":[{"role":"user","content":"x"}]}"#)
        return try self.gemini.decodeResponse(try Fixture.bytes(fixture), for: request, context: testResponseContext)
    }

    static func usage(prompt: Int, completion: Int, cached: Int = 0, reasoning: Int = 0) -> JSONValue {
        [
            "prompt_tokens": .int(prompt), "completion_tokens": .int(completion), "total_tokens": .int(prompt + completion),
            "prompt_tokens_details": ["cached_tokens": .int(cached)], "completion_tokens_details": ["reasoning_tokens": .int(reasoning)],
        ]
    }

    // MARK: Recorded answers

    @Test func recordedTextAnswerWithHiddenThoughts() throws {
        let response = try self.decodeFixture("gemini/generate_response.json")
        #expect(
            JSONValue.object(response.body) == [
                "id": "VgCzac2AGLOHz7IP2pOkkAI",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "gemini-2.5-flash",
                "choices": [
                    [
                        "index": 0, "message": ["role": "assistant", "content": "Olá!", "refusal": nil], "logprobs": nil,
                        "finish_reason": "stop",
                    ]
                ],
                "usage": Self.usage(prompt: 11, completion: 26, reasoning: 24),
            ]
        )
        #expect(response.usage == Usage(inputTokens: 11, outputTokens: 26, reasoningTokens: 24))
        #expect(response.usage?.totalTokens == 37, "Gemini's totalTokenCount")
        #expect(response.responseModel == "gemini-2.5-flash")
        #expect(response.responseID == "VgCzac2AGLOHz7IP2pOkkAI")
        #expect(response.finishReasons == ["stop"])
        #expect(response.text == "Olá!")
        #expect(response.originalBytes == nil)
    }

    @Test func recordedFunctionCallBecomesAToolCallWithAMintedIDAndItsSignature() throws {
        let response = try self.decodeFixture("gemini/generate_response_function_call.json")
        let signature = try #require(
            try Fixture.json("gemini/generate_response_function_call.json")["candidates"]?[0]?["content"]?["parts"]?[0]?["thoughtSignature"]
        )
        #expect(
            JSONValue.object(response.body) == [
                "id": "WACzacOoAtThz7IPuNuJoQI",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": "gemini-2.5-flash",
                "choices": [
                    [
                        "index": 0,
                        "message": [
                            "role": "assistant", "content": nil, "refusal": nil,
                            "tool_calls": [
                                [
                                    "id": "call_test_0", "type": "function",
                                    "function": ["name": "weather", "arguments": #"{"location":"Florence,Italy"}"#],
                                    "extra_content": ["google": ["thought_signature": signature]],
                                ]
                            ],
                        ],
                        "logprobs": nil,
                        "finish_reason": "tool_calls",
                    ]
                ],
                "usage": Self.usage(prompt: 54, completion: 63, reasoning: 48),
            ]
        )
        #expect(response.finishReasons == ["tool_calls"])
        #expect(response.text == nil)
    }

    @Test func recordedAnswerAfterTheToolResult() throws {
        let response = try self.decodeFixture("gemini/generate_response_after_tool.json")
        #expect(
            JSONValue.object(response.body)["choices"] == [
                [
                    "index": 0, "message": ["role": "assistant", "content": "The weather in Florence, Italy is 40 C.", "refusal": nil],
                    "logprobs": nil, "finish_reason": "stop",
                ]
            ]
        )
        #expect(JSONValue.object(response.body)["usage"] == Self.usage(prompt: 84, completion: 12))
        #expect(response.responseID == "WQCzaa2iA_Xpz7IP6oC2oQ8")
    }

    /// The signature the client echoes back reaches Gemini on the same call.
    @Test func signaturesSurviveTheRoundTripThroughAnOpenAIClient() throws {
        let response = try self.decodeFixture("gemini/generate_response_function_call.json")
        var message = try #require(JSONValue.object(response.body)["choices"]?[0]?["message"])
        message["refusal"] = nil
        let request = try ChatRequest(
            object: [
                "model": "m",
                "messages": [
                    ["role": "user", "content": "What's the weather in Florence,Italy?"], message,
                    ["role": "tool", "tool_call_id": "call_test_0", "content": "40 C"],
                ],
            ]
        )
        let body = try JSONValue.parse(try self.gemini.encodeRequest(request, target: UpstreamTarget(model: "gemini-2.5-flash")).body)
        let recorded = try Fixture.json("gemini/generate_response_function_call.json")["candidates"]?[0]?["content"]?["parts"]?[0]
        #expect(body["contents"]?[1]?["parts"]?[0]?["thoughtSignature"] == recorded?["thoughtSignature"])
        #expect(
            body["contents"]?[1]?["parts"]?[0]?["functionCall"] == ["id": "call_test_0", "name": "weather", "args": ["location": "Florence,Italy"]]
        )
        #expect(body["contents"]?[2]?["parts"]?[0]?["functionResponse"]?["name"] == "weather")
    }

    // MARK: Mapping rules

    @Test func thoughtsBecomeReasoningAndTextPartsJoin() throws {
        let response = try self.decode(
            #"{"candidates":[{"content":{"role":"model","parts":[{"text":"Let me think. ","thought":true},{"text":"Done.","thought":true},"#
                + #"{"text":"Hello"},{"text":", world"},{"text":"","thoughtSignature":"abc"}]},"finishReason":"STOP","index":0}],"#
                + #""usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":3,"thoughtsTokenCount":5,"totalTokenCount":18}}"#
        )
        let message = JSONValue.object(response.body)["choices"]?[0]?["message"]
        #expect(message == ["role": "assistant", "content": "Hello, world", "reasoning_content": "Let me think. Done.", "refusal": nil])
        #expect(response.usage == Usage(inputTokens: 10, outputTokens: 8, reasoningTokens: 5))
    }

    @Test func withoutResponseIDOrModelVersionTheContextIsUsed() throws {
        let response = try self.decode(#"{"candidates":[{"content":{"parts":[{"text":"hi"}]},"finishReason":"STOP"}]}"#, model: "my-gemini")
        #expect(response.responseID == "chatcmpl-test")
        #expect(response.responseModel == testResponseContext.model)
        #expect(JSONValue.object(response.body)["created"] == 1_700_000_000)
        #expect(JSONValue.object(response.body)["usage"] == .null)
        #expect(response.usage == nil)
    }

    @Test func usageCountsToolPromptsAndCache() throws {
        let response = try self.decode(
            #"{"candidates":[{"content":{"parts":[{"text":"hi"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1000,"#
                + #""cachedContentTokenCount":768,"toolUsePromptTokenCount":50,"candidatesTokenCount":20,"thoughtsTokenCount":30,"totalTokenCount":1100}}"#
        )
        #expect(response.usage == Usage(inputTokens: 1050, outputTokens: 50, cachedInputTokens: 768, reasoningTokens: 30))
        #expect(JSONValue.object(response.body)["usage"] == Self.usage(prompt: 1050, completion: 50, cached: 768, reasoning: 30))
    }

    @Test(arguments: [
        ("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"), ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"), ("IMAGE_PROHIBITED_CONTENT", "content_filter"), ("LANGUAGE", "stop"), ("OTHER", "stop"),
        ("MALFORMED_FUNCTION_CALL", "stop"), ("UNEXPECTED_TOOL_CALL", "stop"), ("FINISH_REASON_UNSPECIFIED", "stop"),
    ])
    func finishReasonsMap(gemini: String, openAI: String) throws {
        let response = try self.decode(#"{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"\#(gemini)"}]}"#)
        #expect(response.finishReasons == [openAI])
    }

    @Test func maxTokensWinsOverFunctionCalls() throws {
        let response = try self.decode(
            #"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}}}]},"finishReason":"MAX_TOKENS"}]}"#
        )
        #expect(response.finishReasons == ["length"])
    }

    @Test func blockedPromptIsAContentFilterFinish() throws {
        let response = try self.decode(
            #"{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-2.5-pro"}"#
        )
        #expect(
            JSONValue.object(response.body)["choices"] == [
                ["index": 0, "message": ["role": "assistant", "content": "", "refusal": nil], "logprobs": nil, "finish_reason": "content_filter"]
            ]
        )
        #expect(response.usage == Usage(inputTokens: 9, outputTokens: 0))
        #expect(response.responseModel == "gemini-2.5-pro")
    }

    @Test func severalCandidatesBecomeSeveralChoicesWithTheirOwnCallIDs() throws {
        let response = try self.decode(
            #"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":1}}},{"functionCall":{"name":"g"}}]},"#
                + #""finishReason":"STOP","index":0},{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":2},"id":"given-id"}},"#
                + #"{"functionCall":{"name":"h","args":{}}}]},"finishReason":"STOP","index":1},{"content":{"parts":[{"text":"no"}]},"#
                + #""finishReason":"SAFETY","index":2}]}"#
        )
        let choices = try #require(JSONValue.object(response.body)["choices"]?.arrayValue)
        #expect(choices.map { $0["index"] } == [0, 1, 2])
        #expect(choices[0]["message"]?["tool_calls"]?.arrayValue?.map { $0["id"] } == ["call_test_0", "call_test_1"])
        #expect(choices[0]["message"]?["tool_calls"]?[1]?["function"] == ["name": "g", "arguments": "{}"])
        #expect(choices[1]["message"]?["tool_calls"]?.arrayValue?.map { $0["id"] } == ["given-id", "call_test_1_1"])
        #expect(choices[2]["message"]?["content"] == "no")
        #expect(response.finishReasons == ["tool_calls", "tool_calls", "content_filter"])
    }

    @Test(arguments: [
        "not json", "[]", #"{"usageMetadata":{"promptTokenCount":1}}"#, #"{"candidates":[{"content":{"parts":[{"functionCall":{"args":{}}}]}}]}"#,
    ])
    func malformedAnswersAreTheProvidersFault(body: String) throws {
        let error = #expect(throws: TranslationError.self) { try self.decode(body) }
        #expect(error?.code == .malformedUpstreamPayload)
        #expect(error?.isClientError == false)
    }

    // MARK: Errors

    @Test(arguments: [
        ("gemini/error_400_api_key_invalid.json", 400, UpstreamFailure.Kind.authentication, "API_KEY_INVALID" as String?),
        ("gemini/error_400_invalid_argument.json", 400, .badRequest, nil),
        ("gemini/error_404_model.json", 404, .notFound, nil),
        ("gemini/error_429_resource_exhausted.json", 429, .rateLimited, nil),
        ("gemini/error_500.json", 500, .serverError, nil),
        ("gemini/error_503.json", 503, .overloaded, nil),
    ])
    func recordedErrorsAreClassified(fixture: String, status: Int, kind: UpstreamFailure.Kind, code: String?) throws {
        let json = try Fixture.json(fixture)
        let failure = self.gemini.decodeError(status: status, body: try Fixture.bytes(fixture))
        #expect(failure.kind == kind)
        #expect(failure.upstreamStatus == status)
        #expect(failure.message == json["error"]?["message"]?.stringValue)
        #expect(failure.type == json["error"]?["status"]?.stringValue)
        #expect(failure.code == code)
    }

    @Test(arguments: [
        (403, "PERMISSION_DENIED", UpstreamFailure.Kind.permission), (401, "UNAUTHENTICATED", .authentication), (504, "DEADLINE_EXCEEDED", .timeout),
        (400, "FAILED_PRECONDITION", .badRequest), (499, "CANCELLED", .badRequest), (502, "BAD_GATEWAY", .serverError),
    ])
    func statusNamesAreClassified(status: Int, name: String, kind: UpstreamFailure.Kind) {
        let body = #"[{"error":{"code":\#(status),"message":"m","status":"\#(name)"}}]"#
        let failure = self.gemini.decodeError(status: status, body: Array(body.utf8))
        #expect(failure.kind == kind)
        #expect(failure.message == "m")
    }

    @Test func keyErrorsAreRecognisedFromTheMessageAlone() {
        let body = #"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}"#
        #expect(self.gemini.decodeError(status: 400, body: Array(body.utf8)).kind == .authentication)
    }

    @Test func errorsWithoutAGoogleBodyClassifyByStatus() {
        let failure = self.gemini.decodeError(status: 503, body: Array("<html>Service Unavailable</html>".utf8))
        #expect(failure.kind == .overloaded)
        #expect(failure.isRetryable)
        #expect(!failure.message.contains("html"))
    }
}
