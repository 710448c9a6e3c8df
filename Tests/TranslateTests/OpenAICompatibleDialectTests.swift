//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

@Suite struct OpenAICompatibleDialectTests {
    let openAI = OpenAICompatibleDialect(quirks: .openAI)
    let deepSeek = OpenAICompatibleDialect(quirks: .deepSeek)
    let dashScope = OpenAICompatibleDialect(quirks: .dashScope)

    // MARK: Requests

    @Test(arguments: [
        "openai/chat_request.json", "openai/chat_request_tools.json", "openai/chat_request_tool_result.json",
        "openai/chat_request_multipart.json", "openai/chat_request_json_schema.json",
    ])
    func openAIRequestsPassThroughWithOnlyTheModelChanged(fixture: String) throws {
        let request = try ChatRequest(parsing: try Fixture.bytes(fixture))
        let encoded = try self.openAI.encodeRequest(request, target: UpstreamTarget(model: "gpt-4o-2024-08-06"))
        var expected = try Fixture.object(fixture)
        expected["model"] = "gpt-4o-2024-08-06"
        #expect(try JSONValue.parse(encoded.body) == .object(expected))
        #expect(encoded.path == "/chat/completions")
        #expect(encoded.method == "POST")
        #expect(!encoded.isStreaming)
    }

    @Test func streamsAlwaysAskForUsageAndKeepOtherStreamOptions() throws {
        let request = try chatRequest(
            #"{"model":"m","stream":true,"stream_options":{"include_obfuscation":false},"messages":[{"role":"user","content":"x"}]}"#
        )
        let body = try JSONValue.parse(try self.openAI.encodeRequest(request, target: UpstreamTarget(model: "m")).body)
        #expect(body["stream_options"] == ["include_obfuscation": false, "include_usage": true])
        #expect(!request.includeUsage, "the client did not ask for usage, so it must not get the usage chunk")
        var quirks = OpenAICompatibleDialect.Quirks.generic
        quirks.acceptsStreamOptions = false
        let old = try JSONValue.parse(try OpenAICompatibleDialect(quirks: quirks).encodeRequest(request, target: UpstreamTarget(model: "m")).body)
        #expect(old["stream_options"] == ["include_obfuscation": false])
    }

    @Test func deepSeekRecordedRequestIsForwardedAsIs() throws {
        let request = try ChatRequest(parsing: try Fixture.bytes("deepseek/chat_request.json"))
        let body = try JSONValue.parse(try self.deepSeek.encodeRequest(request, target: UpstreamTarget(model: request.model)).body)
        #expect(body == .object(try Fixture.object("deepseek/chat_request.json")))
    }

    @Test func dashScopeThinkingFlagPassesThrough() throws {
        let request = try ChatRequest(parsing: try Fixture.bytes("dashscope/compat_stream_thinking_request.json"))
        let body = try JSONValue.parse(try self.dashScope.encodeRequest(request, target: UpstreamTarget(model: "qwen-plus")).body)
        #expect(body["enable_thinking"] == (try Fixture.json("dashscope/compat_stream_thinking_request.json"))["enable_thinking"])
        #expect(body["model"] == "qwen-plus")
    }

    @Test func vendorQuirksRewriteTokenLimitsRolesAndReasoningHistory() throws {
        let request = try chatRequest(
            #"{"model":"m","max_completion_tokens":50,"messages":[{"role":"developer","content":"be brief"},"#
                + #"{"role":"user","content":"q1"},{"role":"assistant","content":"a1","reasoning_content":"old thoughts"},"#
                + #"{"role":"user","content":"q2"},{"role":"assistant","content":null,"reasoning_content":"current thoughts","#
                + #""tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},"#
                + #"{"role":"tool","tool_call_id":"c1","content":"42"}]}"#
        )
        let deepSeek = try JSONValue.parse(try self.deepSeek.encodeRequest(request, target: UpstreamTarget(model: "deepseek-chat")).body)
        #expect(deepSeek["max_tokens"] == 50)
        #expect(deepSeek["max_completion_tokens"] == nil)
        #expect(deepSeek["messages"]?[0]?["role"] == "system")
        #expect(deepSeek["messages"]?[2]?["reasoning_content"] == nil, "earlier turns' reasoning is rejected by DeepSeek")
        #expect(deepSeek["messages"]?[4]?["reasoning_content"] == "current thoughts", "the current tool turn keeps it")

        let openAI = try JSONValue.parse(try self.openAI.encodeRequest(request, target: UpstreamTarget(model: "gpt-4o")).body)
        #expect(openAI["max_completion_tokens"] == 50)
        #expect(openAI["messages"]?[0]?["role"] == "developer")
        #expect(openAI["messages"]?[4]?["reasoning_content"] == nil)
    }

    @Test func keysGoInTheAuthorizationHeader() {
        #expect(self.openAI.authenticationHeaders(apiKey: "sk-1") == [HTTPHeader("Authorization", "Bearer sk-1")])
    }

    // MARK: Responses

    @Test func openAIResponseKeepsItsBytesAndReportsUsage() throws {
        let bytes = try Fixture.bytes("openai/chat_response_reasoning_usage_o4-mini.json")
        let request = try chatRequest(#"{"model":"o4-mini","messages":[{"role":"user","content":"x"}]}"#)
        let response = try self.openAI.decodeResponse(bytes, for: request, context: testResponseContext)
        #expect(response.serialized() == bytes)
        #expect(response.usage == Usage(inputTokens: 19, outputTokens: 84, reasoningTokens: 64))
        #expect(response.text == "Oi!")
        #expect(response.finishReasons == ["stop"])
        #expect(response.responseModel == "o4-mini-2025-04-16")
    }

    @Test func deepSeekReasonerResponseCarriesReasoningAndCacheHits() throws {
        let bytes = try Fixture.bytes("deepseek/reasoner_response.json")
        let json = try JSONValue.parse(bytes)
        let response = try self.deepSeek.decodeResponse(
            bytes,
            for: try chatRequest(#"{"model":"deepseek-reasoner","messages":[{"role":"user","content":"x"}]}"#),
            context: testResponseContext
        )
        #expect(JSONValue.object(response.body)["choices"]?[0]?["message"]?["reasoning_content"]?.stringValue?.isEmpty == false)
        #expect(response.usage?.inputTokens == json["usage"]?["prompt_tokens"]?.intValue)
        #expect(response.usage?.cachedInputTokens == json["usage"]?["prompt_cache_hit_tokens"]?.intValue)
        // This capture reports no completion_tokens_details: reasoning tokens are then 0, not missing.
        #expect(json["usage"]?["completion_tokens_details"] == nil)
        #expect(response.usage?.reasoningTokens == 0)
    }

    @Test func deepSeekCacheHitsAreReadWithoutPromptTokenDetails() {
        let usage = Usage(openAI: ["prompt_tokens": 100, "completion_tokens": 5, "prompt_cache_hit_tokens": 64, "prompt_cache_miss_tokens": 36])
        #expect(usage == Usage(inputTokens: 100, outputTokens: 5, cachedInputTokens: 64))
    }

    @Test(arguments: [
        "openai/chat_response.json", "openai/chat_response_tool_calls.json", "openai/chat_response_json_schema.json",
        "deepseek/chat_response.json", "deepseek/chat_response_tool_calls.json", "dashscope/compat_chat_response.json",
    ])
    func recordedResponsesDecode(fixture: String) throws {
        let bytes = try Fixture.bytes(fixture)
        let json = try JSONValue.parse(bytes)
        let response = try self.openAI.decodeResponse(
            bytes,
            for: try chatRequest(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#),
            context: testResponseContext
        )
        #expect(response.usage?.inputTokens == json["usage"]?["prompt_tokens"]?.intValue)
        #expect(response.usage?.outputTokens == json["usage"]?["completion_tokens"]?.intValue)
        #expect(response.finishReasons == json["choices"]?.arrayValue?.compactMap { $0["finish_reason"]?.stringValue })
    }

    @Test func malformedResponsesAreTheProvidersFault() {
        let request = try? chatRequest(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
        for body in ["not json", #"{"id":"x"}"#, "[]"] {
            let error = #expect(throws: TranslationError.self) {
                try self.openAI.decodeResponse(Array(body.utf8), for: request!, context: testResponseContext)
            }
            #expect(error?.code == .malformedUpstreamPayload)
            #expect(error?.isClientError == false)
        }
    }

    // MARK: Errors

    @Test(arguments: [
        ("openai/error_400.json", 400, UpstreamFailure.Kind.badRequest),
        ("openai/error_401.json", 401, .authentication),
        ("openai/error_403.json", 403, .permission),
        ("openai/error_404_model.json", 404, .notFound),
        ("openai/error_429_rate_limit.json", 429, .rateLimited),
        ("openai/error_429_insufficient_quota.json", 429, .quotaExhausted),
        ("openai/error_500.json", 500, .serverError),
        ("openai/error_503.json", 503, .overloaded),
        ("deepseek/error_402.json", 402, .quotaExhausted),
        ("deepseek/error_400_model_not_exist.json", 400, .badRequest),
        ("dashscope/native_error_401.json", 401, .authentication),
    ])
    func recordedErrorsAreClassified(fixture: String, status: Int, kind: UpstreamFailure.Kind) throws {
        let bytes = try Fixture.bytes(fixture)
        let failure = self.openAI.decodeError(status: status, body: bytes)
        #expect(failure.kind == kind)
        #expect(failure.upstreamStatus == status)
        let json = try JSONValue.parse(bytes)
        #expect(failure.message == (json["error"]?["message"] ?? json["message"])?.stringValue)
    }

    @Test func errorsWithoutAJSONBodyStillClassify() {
        let failure = self.openAI.decodeError(status: 502, body: Array("<html>Bad Gateway</html>".utf8))
        #expect(failure.kind == .serverError)
        #expect(failure.isRetryable)
        #expect(!failure.message.contains("html"), "raw upstream bodies are not echoed")
    }

    // MARK: Embeddings

    @Test func embeddingsPassThrough() throws {
        let request = try EmbeddingsRequest(parsing: try Fixture.bytes("openai/embeddings_request.json"))
        let encoded = try self.openAI.encodeEmbeddingsRequest(request, target: UpstreamTarget(model: "text-embedding-3-large"))
        #expect(encoded.path == "/embeddings")
        #expect(try JSONValue.parse(encoded.body)["model"] == "text-embedding-3-large")
        let response = try self.openAI.decodeEmbeddingsResponse(try Fixture.bytes("openai/embeddings_response.json"), for: request)
        #expect(response.inputTokens == (try Fixture.json("openai/embeddings_response.json"))["usage"]?["prompt_tokens"]?.intValue)
    }
}
