//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// Anthropic answers and errors → OpenAI completions and failures.
@Suite struct AnthropicResponseTests {
    typealias T = AnthropicTest

    static let plainRequest = #"{"model":"claude","messages":[{"role":"user","content":"x"}]}"#

    func decode(_ message: String, request: String = plainRequest) throws -> ChatResponse {
        try T.dialect.decodeResponse(Array(message.utf8), for: try chatRequest(request), context: testResponseContext)
    }

    /// A minimal Anthropic message with `content` blocks, `stop_reason` and `usage`.
    static func message(_ content: String, stopReason: String = "end_turn", usage: String = #"{"input_tokens":3,"output_tokens":4}"#) -> String {
        #"{"id":"msg_x","type":"message","role":"assistant","model":"claude-test","content":\#(content),"stop_reason":"\#(stopReason)","stop_sequence":null,"usage":\#(usage)}"#
    }

    // MARK: Recorded answers

    static let recordedAnswers: [(fixture: String, completion: String)] = [
        (
            "anthropic/messages_response.json",
            #"""
            {"id":"msg_01KrnBffuzxt8ttHq7iiZe7n","object":"chat.completion","created":1700000000,"model":"claude-sonnet-4-20250514",
            "choices":[{"index":0,"message":{"role":"assistant",
            "content":"Olá! \n\n(That's \"hello\" in Portuguese. You could also say \"Oi!\" for a more casual \"hi!\")","refusal":null},
            "logprobs":null,"finish_reason":"stop"}],
            "usage":{"prompt_tokens":16,"completion_tokens":34,"total_tokens":50,"prompt_tokens_details":{"cached_tokens":0},
            "completion_tokens_details":{"reasoning_tokens":0}}}
            """#
        ),
        (
            "anthropic/messages_response_tool_use.json",
            #"""
            {"id":"msg_01Pgx1ep9weiiD4acPmkJCeK","object":"chat.completion","created":1700000000,"model":"claude-sonnet-4-20250514",
            "choices":[{"index":0,"message":{"role":"assistant","content":"I'll check the weather in Florence, Italy for you.",
            "tool_calls":[{"id":"toolu_01XLb9pzgfLa2EMyqWot6Ezt","type":"function","function":{"name":"weather",
            "arguments":"{\"location\":\"Florence,Italy\"}"}}],"refusal":null},"logprobs":null,"finish_reason":"tool_calls"}],
            "usage":{"prompt_tokens":394,"completion_tokens":66,"total_tokens":460,"prompt_tokens_details":{"cached_tokens":0},
            "completion_tokens_details":{"reasoning_tokens":0}}}
            """#
        ),
        (
            "anthropic/messages_response_after_tool.json",
            #"""
            {"id":"msg_01Eo6XiNE3nm8rTR4yBWaEAg","object":"chat.completion","created":1700000000,"model":"claude-sonnet-4-20250514",
            "choices":[{"index":0,"message":{"role":"assistant",
            "content":"The current weather in Florence, Italy is 40°C (104°F). That's quite hot! It would be a good idea to stay hydrated and seek shade or air conditioning if you're planning to be outdoors.",
            "refusal":null},"logprobs":null,"finish_reason":"stop"}],
            "usage":{"prompt_tokens":475,"completion_tokens":50,"total_tokens":525,"prompt_tokens_details":{"cached_tokens":0},
            "completion_tokens_details":{"reasoning_tokens":0}}}
            """#
        ),
    ]

    @Test(arguments: recordedAnswers)
    func recordedAnswersBecomeOpenAICompletions(fixture: String, completion: String) throws {
        let bytes = try Fixture.bytes(fixture)
        let recorded = try Fixture.json(fixture)
        let response = try T.dialect.decodeResponse(bytes, for: try chatRequest(Self.plainRequest), context: testResponseContext)
        let expected = try JSONValue.parse(completion)
        #expect(JSONValue.object(response.body) == expected)
        #expect(response.serialized() == response.body.serialized(), "a translated answer has no provider bytes to forward")
        #expect(response.responseID == recorded["id"]?.stringValue)
        #expect(response.responseModel == "claude-sonnet-4-20250514")
        #expect(response.finishReasons == [try #require(expected["choices"]?[0]?["finish_reason"]?.stringValue)])
        #expect(response.text == expected["choices"]?[0]?["message"]?["content"]?.stringValue)
        #expect(
            response.usage
                == Usage(
                    inputTokens: try #require(recorded["usage"]?["input_tokens"]?.intValue),
                    outputTokens: try #require(recorded["usage"]?["output_tokens"]?.intValue)
                )
        )
    }

    // MARK: Content

    @Test func textBlocksConcatenateAndThinkingBecomesReasoning() throws {
        let response = try self.decode(
            Self.message(
                #"""
                [{"type":"thinking","thinking":"Let me think.","signature":"sig"},{"type":"redacted_thinking","data":"xyz"},
                {"type":"thinking","thinking":" Done.","signature":"sig2"},{"type":"text","text":"Hello"},{"type":"text","text":" world"}]
                """#
            )
        )
        let message = JSONValue.object(response.body)["choices"]?[0]?["message"]
        #expect(message == ["role": "assistant", "content": "Hello world", "reasoning_content": "Let me think. Done.", "refusal": nil])
    }

    @Test func onlyToolCallsMeanNullContentAndSeveralCallsKeepTheirOrder() throws {
        let response = try self.decode(
            Self.message(
                #"""
                [{"type":"tool_use","id":"toolu_1","name":"a","input":{"x":1,"y":[true,null]}},
                {"type":"tool_use","id":"toolu_2","name":"b","input":{}}]
                """#,
                stopReason: "tool_use"
            )
        )
        let message = JSONValue.object(response.body)["choices"]?[0]?["message"]
        #expect(message?["content"] == .null)
        #expect(
            message?["tool_calls"] == [
                ["id": "toolu_1", "type": "function", "function": ["name": "a", "arguments": #"{"x":1,"y":[true,null]}"#]],
                ["id": "toolu_2", "type": "function", "function": ["name": "b", "arguments": "{}"]],
            ]
        )
        #expect(response.finishReasons == ["tool_calls"])
    }

    @Test func anEmptyAnswerHasEmptyContent() throws {
        let response = try self.decode(Self.message("[]"))
        #expect(JSONValue.object(response.body)["choices"]?[0]?["message"]?["content"] == "")
    }

    // MARK: Stop reasons and usage

    @Test(arguments: [
        ("end_turn", "stop"), ("stop_sequence", "stop"), ("pause_turn", "stop"), ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"), ("refusal", "content_filter"), ("tool_use", "tool_calls"),
    ])
    func stopReasonsBecomeFinishReasons(stopReason: String, finishReason: String) throws {
        let content =
            stopReason == "tool_use" ? #"[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]"# : #"[{"type":"text","text":"t"}]"#
        let response = try self.decode(Self.message(content, stopReason: stopReason))
        #expect(response.finishReasons == [finishReason])
        #expect(JSONValue.object(response.body)["choices"]?[0]?["finish_reason"] == .string(finishReason))
    }

    @Test func cacheReadsAndWritesArePartOfThePromptTokens() throws {
        let response = try self.decode(
            Self.message(
                #"[{"type":"text","text":"t"}]"#,
                usage:
                    #"{"input_tokens":10,"cache_creation_input_tokens":20,"cache_read_input_tokens":30,"output_tokens":5,"service_tier":"standard"}"#
            )
        )
        #expect(response.usage == Usage(inputTokens: 60, outputTokens: 5, cachedInputTokens: 30, cacheCreationInputTokens: 20))
        #expect(
            JSONValue.object(response.body)["usage"] == [
                "prompt_tokens": 60, "completion_tokens": 5, "total_tokens": 65,
                "prompt_tokens_details": ["cached_tokens": 30, "cache_write_tokens": 20], "completion_tokens_details": ["reasoning_tokens": 0],
            ]
        )
    }

    @Test func nullCacheCountsReadAsZero() throws {
        let response = try self.decode(
            Self.message(
                #"[{"type":"text","text":"t"}]"#,
                usage: #"{"input_tokens":10,"cache_creation_input_tokens":null,"cache_read_input_tokens":null,"output_tokens":5}"#
            )
        )
        #expect(response.usage == Usage(inputTokens: 10, outputTokens: 5))
    }

    @Test func missingIDAndModelComeFromTheContextAndRequest() throws {
        let response = try self.decode(#"{"type":"message","content":[{"type":"text","text":"t"}],"stop_reason":"end_turn"}"#)
        let body = JSONValue.object(response.body)
        #expect(body["id"] == .string(testResponseContext.responseID))
        #expect(body["model"] == "claude")
        #expect(body["created"] == .int(testResponseContext.created))
        #expect(body["usage"] == .null)
        #expect(response.usage == nil)
    }

    // MARK: Structured answers

    static let bookRequest = #"""
        {"model":"claude","messages":[{"role":"user","content":"x"}],
        "response_format":{"type":"json_schema","json_schema":{"name":"Book","schema":{"type":"object"}}}}
        """#

    @Test func theForcedAnswerToolBecomesContent() throws {
        let response = try self.decode(
            Self.message(#"[{"type":"tool_use","id":"toolu_9","name":"Book","input":{"title":"LOTR","year":1954}}]"#, stopReason: "tool_use"),
            request: Self.bookRequest
        )
        let choice = JSONValue.object(response.body)["choices"]?[0]
        #expect(choice?["message"] == ["role": "assistant", "content": #"{"title":"LOTR","year":1954}"#, "refusal": nil])
        #expect(choice?["finish_reason"] == "stop")
        #expect(response.text == #"{"title":"LOTR","year":1954}"#)
    }

    @Test func theJSONObjectAnswerToolBecomesContent() throws {
        let response = try self.decode(
            Self.message(#"[{"type":"tool_use","id":"toolu_9","name":"json_object","input":{"ok":true}}]"#, stopReason: "tool_use"),
            request: #"{"model":"claude","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}"#
        )
        #expect(response.text == #"{"ok":true}"#)
        #expect(response.finishReasons == ["stop"])
    }

    @Test func aClientToolCalledBesideTheAnswerToolStaysAToolCall() throws {
        let request = #"""
            {"model":"claude","messages":[{"role":"user","content":"x"}],"tools":[\#(T.weatherTool)],
            "response_format":{"type":"json_schema","json_schema":{"name":"Book","schema":{"type":"object"}}}}
            """#
        let response = try self.decode(
            Self.message(#"[{"type":"tool_use","id":"toolu_1","name":"weather","input":{"location":"Rome"}}]"#, stopReason: "tool_use"),
            request: request
        )
        let message = JSONValue.object(response.body)["choices"]?[0]?["message"]
        #expect(message?["content"] == .null)
        #expect(message?["tool_calls"]?[0]?["function"] == ["name": "weather", "arguments": #"{"location":"Rome"}"#])
        #expect(response.finishReasons == ["tool_calls"])
    }

    @Test func aToolNamedLikeTheSchemaIsACallWhenNoAnswerToolWasAdded() throws {
        // With tool_choice "required" no answer tool is sent, so a "Book" call is the client's.
        let request = #"""
            {"model":"claude","messages":[{"role":"user","content":"x"}],"tool_choice":"required",
            "tools":[{"type":"function","function":{"name":"Book"}}],
            "response_format":{"type":"json_schema","json_schema":{"name":"Book","schema":{"type":"object"}}}}
            """#
        let response = try self.decode(
            Self.message(#"[{"type":"tool_use","id":"toolu_1","name":"Book","input":{}}]"#, stopReason: "tool_use"),
            request: request
        )
        #expect(response.finishReasons == ["tool_calls"])
        #expect(JSONValue.object(response.body)["choices"]?[0]?["message"]?["tool_calls"]?[0]?["id"] == "toolu_1")
    }

    // MARK: Malformed answers

    @Test(arguments: ["not json", "[]", #"{"id":"msg_1","type":"message"}"#, #"{"content":"text"}"#])
    func malformedAnswersAreTheProvidersFault(body: String) throws {
        let error = #expect(throws: TranslationError.self) { try self.decode(body) }
        #expect(error?.code == .malformedUpstreamPayload)
        #expect(error?.isClientError == false)
    }

    // MARK: Errors

    @Test(arguments: [
        ("anthropic/error_400.json", 400, UpstreamFailure.Kind.badRequest, "invalid_request_error"),
        ("anthropic/error_401.json", 401, .authentication, "authentication_error"),
        ("anthropic/error_403.json", 403, .permission, "permission_error"),
        ("anthropic/error_404.json", 404, .notFound, "not_found_error"),
        ("anthropic/error_413.json", 413, .payloadTooLarge, "request_too_large"),
        ("anthropic/error_429.json", 429, .rateLimited, "rate_limit_error"),
        ("anthropic/error_500.json", 500, .serverError, "api_error"),
        ("anthropic/error_529.json", 529, .overloaded, "overloaded_error"),
    ])
    func recordedErrorsAreClassified(fixture: String, status: Int, kind: UpstreamFailure.Kind, type: String) throws {
        let bytes = try Fixture.bytes(fixture)
        let failure = T.dialect.decodeError(status: status, body: bytes)
        #expect(failure.kind == kind)
        #expect(failure.upstreamStatus == status)
        #expect(failure.type == type)
        #expect(failure.message == (try Fixture.json(fixture))["error"]?["message"]?.stringValue)
        #expect(failure.message.isEmpty == false)
    }

    @Test(arguments: [
        ("billing_error", 402, UpstreamFailure.Kind.quotaExhausted),
        ("timeout_error", 504, .timeout),
        ("overloaded_error", 503, .overloaded),
        ("some_new_error", 409, .badRequest),
        ("some_new_error", 502, .serverError),
    ])
    func otherErrorTypesAndUnknownOnesFallBackToTheStatus(type: String, status: Int, kind: UpstreamFailure.Kind) {
        let body = #"{"type":"error","error":{"type":"\#(type)","message":"m"}}"#
        let failure = T.dialect.decodeError(status: status, body: Array(body.utf8))
        #expect(failure.kind == kind)
        #expect(failure.type == type)
        #expect(failure.message == "m")
    }

    @Test func errorsWithoutAnAnthropicBodyStillClassify() {
        let failure = T.dialect.decodeError(status: 529, body: Array("<html>busy</html>".utf8))
        #expect(failure.kind == .overloaded)
        #expect(failure.isRetryable)
        #expect(!failure.message.contains("html"), "raw upstream bodies are not echoed")
    }

    // MARK: Embeddings

    @Test func embeddingsAreUnsupported() throws {
        let request = try EmbeddingsRequest(parsing: try Fixture.bytes("openai/embeddings_request.json"))
        let encode = #expect(throws: TranslationError.self) { try T.dialect.encodeEmbeddingsRequest(request, target: T.target) }
        #expect(encode?.code == .unsupportedFeature)
        let decode = #expect(throws: TranslationError.self) { try T.dialect.decodeEmbeddingsResponse(Array("{}".utf8), for: request) }
        #expect(decode?.code == .unsupportedFeature)
    }
}
