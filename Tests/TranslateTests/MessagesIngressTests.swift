//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// The Messages ingress: Anthropic requests to the canonical chat request, chat answers and
/// streams back to Anthropic messages and events.
@Suite struct MessagesIngressTests {
    static let openAI = OpenAICompatibleDialect(quirks: .openAI)

    static func messages(_ json: String) throws -> MessagesRequest {
        try MessagesRequest(parsing: Array(json.utf8))
    }

    static func chatBody(_ json: String, dialect: any Dialect = openAI) throws -> JSONValue {
        .object(try messages(json).chatRequest(for: dialect).body)
    }

    // MARK: Requests

    @Test func recordedToolResultConversationTranslates() throws {
        let request = try MessagesRequest(parsing: try Fixture.bytes("anthropic/messages_request_tool_result.json"))
        let body = JSONValue.object(try request.chatRequest(for: Self.openAI).body)
        let expected = try JSONValue.parse(
            Array(
                #"""
                {"model":"claude-sonnet-4-20250514","messages":[
                 {"role":"system","content":"You are a helpful assistant"},
                 {"role":"user","content":"What's the weather in Florence,Italy?"},
                 {"role":"assistant","content":"I'll check the weather in Florence, Italy for you.","tool_calls":[
                  {"id":"toolu_01XLb9pzgfLa2EMyqWot6Ezt","type":"function","function":{"name":"weather","arguments":"{\"location\":\"Florence,Italy\"}"}}]},
                 {"role":"tool","tool_call_id":"toolu_01XLb9pzgfLa2EMyqWot6Ezt","content":"40 C"}]}
                """#.utf8
            )
        )
        #expect(body["messages"] == expected["messages"])
        #expect(body["max_completion_tokens"] == .int(4000))
        #expect(body["tools"]?[0]?["function"]?["name"] == "weather")
        #expect(body["tools"]?[0]?["function"]?["parameters"]?["type"] == "object")
    }

    @Test func cacheControlIsDroppedForTranslationAndKeptForAnthropic() throws {
        let request = try MessagesRequest(parsing: try Fixture.bytes("anthropic/messages_request_cache_control.json"))
        #expect(!JSONValue.object(try request.chatRequest(for: Self.openAI).body).jsonString.contains("cache_control"))
        let native = AnthropicDialect().encodeMessages(
            request.body,
            target: UpstreamTarget(model: "claude-upstream"),
            version: nil,
            betas: [],
            streaming: false
        )
        var expected = request.body
        expected["model"] = "claude-upstream"
        #expect(try JSONValue.parse(native.body) == .object(expected))
        #expect(try JSONValue.parse(native.body).objectValue?.keys == expected.keys)
    }

    @Test(arguments: [(1024, "low"), (4095, "low"), (4096, "medium"), (16_383, "medium"), (16_384, "high"), (64_000, "high")])
    func thinkingBudgetBecomesReasoningEffort(budget: Int, effort: String) throws {
        let body = try Self.chatBody(
            #"{"model":"m","max_tokens":99999,"thinking":{"type":"enabled","budget_tokens":\#(budget)},"messages":[{"role":"user","content":"Hi"}]}"#
        )
        #expect(body["reasoning_effort"] == .string(effort))
    }

    @Test func thinkingTakesEachDialectsForm() throws {
        let json =
            #"{"model":"m","max_tokens":9000,"top_k":5,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"Hi"}]}"#
        let dashScope = try Self.chatBody(json, dialect: OpenAICompatibleDialect(quirks: .dashScope))
        #expect(dashScope["enable_thinking"] == true && dashScope["thinking_budget"] == .int(2048) && dashScope["top_k"] == .int(5))
        let deepSeek = try Self.chatBody(json, dialect: OpenAICompatibleDialect(quirks: .deepSeek))
        #expect(deepSeek["thinking"] == ["type": "enabled"] && deepSeek["top_k"] == nil && deepSeek["reasoning_effort"] == nil)
        let generic = try Self.chatBody(json, dialect: OpenAICompatibleDialect(quirks: .generic))
        #expect(generic["thinking"] == nil && generic["reasoning_effort"] == nil && generic["top_k"] == .int(5))
        let openAI = try Self.chatBody(json)
        #expect(openAI["reasoning_effort"] == "low" && openAI["top_k"] == nil)
        let gemini = try Self.chatBody(json, dialect: GeminiDialect())
        #expect(gemini["reasoning_effort"] == "low" && gemini["top_k"] == .int(5))
        let disabled = #"{"model":"m","max_tokens":9,"thinking":{"type":"disabled"},"messages":[{"role":"user","content":"Hi"}]}"#
        #expect(try Self.chatBody(disabled, dialect: OpenAICompatibleDialect(quirks: .dashScope))["enable_thinking"] == false)
    }

    @Test(
        arguments: [
            (#"{"type":"auto"}"#, #""auto""#, nil),
            (#"{"type":"any","disable_parallel_tool_use":true}"#, #""required""#, false),
            (#"{"type":"tool","name":"weather"}"#, #"{"type":"function","function":{"name":"weather"}}"#, nil),
            (#"{"type":"none"}"#, #""none""#, nil),
        ] as [(String, String, Bool?)]
    )
    func toolChoiceMaps(choice: String, expected: String, parallel: Bool?) throws {
        let tools = #"[{"name":"weather","input_schema":{"type":"object"}}]"#
        let body = try Self.chatBody(
            #"{"model":"m","max_tokens":9,"tools":\#(tools),"tool_choice":\#(choice),"messages":[{"role":"user","content":"Hi"}]}"#
        )
        #expect(body["tool_choice"] == (try JSONValue.parse(Array(expected.utf8))))
        #expect(body["parallel_tool_calls"]?.boolValue == parallel)
    }

    @Test func toolResultsWithErrorsAndImages() throws {
        let json = #"""
            {"model":"m","max_tokens":9,"messages":[
             {"role":"user","content":"Look"},
             {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},
              {"type":"tool_use","id":"t1","name":"shot","input":{}},{"type":"tool_use","id":"t2","name":"shot","input":{"n":1}}]},
             {"role":"user","content":[
              {"type":"tool_result","tool_use_id":"t1","is_error":true,"content":"camera broken"},
              {"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"here"},
               {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}}]},
              {"type":"text","text":"What do you see?"}]}]}
            """#
        let messages = try #require(try Self.chatBody(json)["messages"]?.arrayValue)
        #expect(messages.count == 5)
        #expect(messages[1]["reasoning_content"] == "hmm")
        #expect(messages[1]["tool_calls"]?[1]?["function"]?["arguments"] == #"{"n":1}"#)
        #expect(messages[2] == ["role": "tool", "tool_call_id": "t1", "content": "Error: camera broken"])
        #expect(messages[3] == ["role": "tool", "tool_call_id": "t2", "content": "here"])
        #expect(messages[4]["role"] == "user")
        #expect(messages[4]["content"]?[0] == ["type": "image_url", "image_url": ["url": "data:image/png;base64,iVBO"]])
        #expect(messages[4]["content"]?[1] == ["type": "text", "text": "What do you see?"])
    }

    @Test func documentsBecomeFileOrTextParts() throws {
        let json = #"""
            {"model":"m","max_tokens":9,"messages":[{"role":"user","content":[
             {"type":"document","title":"a.pdf","source":{"type":"base64","media_type":"application/pdf","data":"JVBE"}},
             {"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain words"}},
             {"type":"text","text":"Summarize"}]}]}
            """#
        let content = try Self.chatBody(json)["messages"]?[0]?["content"]
        #expect(content?[0] == ["type": "file", "file": ["filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"]])
        #expect(content?[1] == ["type": "text", "text": "plain words"])
    }

    @Test func systemBlocksStopSequencesAndMetadata() throws {
        let json = #"""
            {"model":"m","max_tokens":9,"temperature":0.25,"top_p":0.5,"stop_sequences":["END"],"stream":true,
             "metadata":{"user_id":"u-1","task_type":"coding"},
             "system":[{"type":"text","text":"A","cache_control":{"type":"ephemeral"}},{"type":"text","text":"B"}],
             "messages":[{"role":"user","content":"Hi"}]}
            """#
        let request = try Self.messages(json)
        #expect(request.taskType == "coding")
        #expect(request.body["metadata"] == ["user_id": "u-1"])
        let body = JSONValue.object(try request.chatRequest(for: Self.openAI).body)
        #expect(body["messages"]?[0] == ["role": "system", "content": "A\nB"])
        #expect(body["stop"] == ["END"] && body["user"] == "u-1" && body["temperature"] == .number(JSONNumber(literal: "0.25")!))
        #expect(body["stream_options"] == ["include_usage": true])
        #expect(try request.chatRequest(for: Self.openAI).includeUsage)
    }

    @Test(arguments: [
        (#"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#, "max_tokens"),
        (#"{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"Hi"}]}"#, "max_tokens"),
        (#"{"max_tokens":5,"messages":[]}"#, "model"),
        (#"{"model":"m","max_tokens":5,"stream":"yes","messages":[]}"#, "stream"),
    ])
    func parsingRejectsTheBasics(json: String, param: String) throws {
        let error = try #require(throws: TranslationError.self) { try Self.messages(json) }
        #expect(error.param == param && error.code == .invalidRequest)
    }

    @Test(
        arguments: [
            (#""container":{"id":"c"}"#, "container", TranslationError.Code.unsupportedFeature),
            (#""tools":[{"type":"web_search_20250305","name":"web_search"}]"#, "tools[0].type", .unsupportedFeature),
            (#""tool_choice":{"type":"any"}"#, "tool_choice", .invalidRequest),
            (#""thinking":{"type":"enabled"}"#, "thinking.budget_tokens", .invalidRequest),
        ] as [(String, String, TranslationError.Code)]
    )
    func translationErrorsWaitForANonAnthropicTarget(extra: String, param: String, code: TranslationError.Code) throws {
        let request = try Self.messages(#"{"model":"m","max_tokens":9,\#(extra),"messages":[{"role":"user","content":"Hi"}]}"#)
        let error = try #require(throws: TranslationError.self) { try request.chatRequest(for: Self.openAI) }
        #expect(error.param == param && error.code == code)
        #expect(request.chat.messages.count == 1, "a digest still estimates the prompt")
    }

    /// A request only Anthropic can take is estimated from its texts, not from base64 data.
    @Test func theDigestEstimatesTextNotData() throws {
        let image = String(repeating: "A", count: 400_000)
        let request = try Self.messages(
            #"{"model":"m","max_tokens":9,"container":{"id":"c"},"system":"one two","messages":[{"role":"user","content":["#
                + #"{"type":"image","source":{"type":"base64","media_type":"image/png","data":"\#(image)"}},{"type":"text","text":"three"}]}]}"#
        )
        #expect(TokenEstimator.estimatePromptTokens(request.chat) < 100)
        #expect(request.chat.messages.first?.content.text.contains("three") == true)
    }

    @Test(arguments: [
        (#"[{"role":"system","content":"x"}]"#, "messages[0].role"),
        (#"[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]"#, "messages[0].content[0].source.type"),
        (#"[{"role":"user","content":[{"type":"document","source":{"type":"url","url":"https://x/a.pdf"}}]}]"#, "messages[0].content[0].source.type"),
        (#"[{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]"#, "messages[0].content[0].type"),
        (#"[{"role":"user","content":42}]"#, "messages[0].content"),
        (#"[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":[1]}]}]"#, "messages[0].content[0].input"),
    ])
    func blocksATranslationCannotCarryNameTheirPath(messages: String, param: String) throws {
        let request = try Self.messages(#"{"model":"m","max_tokens":9,"messages":\#(messages)}"#)
        let error = try #require(throws: TranslationError.self) { try request.chatRequest(for: Self.openAI) }
        #expect(error.param == param)
    }

    // MARK: Answers

    @Test func recordedToolCallCompletionBecomesAMessage() throws {
        let completion = ChatResponse(openAI: try Fixture.object("openai/chat_response_tool_calls.json"))
        let usage = Usage(inputTokens: 100, outputTokens: 20, cachedInputTokens: 30, cacheCreationInputTokens: 10)
        let message = JSONValue.object(MessagesAnswer.message(from: completion, usage: usage, fallbackID: "msg_x"))
        let call = try #require(completion.body["choices"]?[0]?["message"]?["tool_calls"]?[0])
        #expect(message["type"] == "message" && message["role"] == "assistant" && message["stop_reason"] == "tool_use")
        let block = try #require(message["content"]?.arrayValue?.first { $0["type"] == "tool_use" })
        #expect(block["id"] == call["id"] && block["name"] == call["function"]?["name"])
        #expect(block["input"] == (try JSONValue.parse(Array((call["function"]?["arguments"]?.stringValue ?? "").utf8))))
        #expect(
            message["usage"] == ["input_tokens": 60, "cache_creation_input_tokens": 10, "cache_read_input_tokens": 30, "output_tokens": 20]
        )
    }

    @Test func reasoningBecomesAThinkingBlockFirst() throws {
        let completion = ChatResponse(openAI: try Fixture.object("deepseek/reasoner_response.json"))
        let message = JSONValue.object(MessagesAnswer.message(from: completion, usage: completion.usage, fallbackID: "msg_x"))
        #expect(message["content"]?[0]?["type"] == "thinking" && message["content"]?[1]?["type"] == "text")
        #expect(message["content"]?[0]?["thinking"] == completion.body["choices"]?[0]?["message"]?["reasoning_content"])
    }

    @Test(arguments: [
        ("stop", "end_turn"), ("length", "max_tokens"), ("tool_calls", "tool_use"), ("function_call", "tool_use"),
        ("content_filter", "refusal"), ("anything_new", "end_turn"),
    ])
    func finishReasonsMapToStopReasons(finish: String, stop: String) {
        #expect(MessagesAnswer.stopReason(finish) == stop)
    }

    @Test(arguments: [
        (400, "invalid_request_error"), (401, "authentication_error"), (403, "permission_error"), (404, "not_found_error"),
        (413, "request_too_large"), (422, "invalid_request_error"), (429, "rate_limit_error"), (500, "api_error"), (502, "api_error"),
        (504, "timeout_error"), (529, "overloaded_error"),
    ])
    func errorTypesFollowAnthropicsStatuses(status: Int, type: String) {
        #expect(AnthropicErrorBody.type(forStatus: status) == type)
    }

    // MARK: Streams

    /// OpenAI stream fixtures, translated to Messages events and read back by the Anthropic
    /// dialect's own stream translator, say what the OpenAI stream said — at every chunk size.
    @Test(arguments: [
        "openai/stream_text.sse", "openai/stream_parallel_tool_calls.sse", "deepseek/stream_reasoner.sse", "deepseek/stream_tool_calls.sse",
    ])
    func streamsRoundTripThroughMessagesEvents(fixture: String) throws {
        let request = try chatRequest(
            #"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}"#
        )
        let openAI = try translateStream(try Fixture.bytes(fixture), dialect: Self.openAI, request: request, chunkSize: .max).output
        let original = try ClientStream(bytes: openAI)
        #expect(!original.content.isEmpty || !original.toolCalls.isEmpty)
        #expect(original.usage != nil && original.finishReasons.last != nil)
        for size in streamChunkSizes {
            let events = try Self.messagesEvents(openAI, chunkSize: size)
            let names = try Self.eventNames(events)
            #expect(names.first == "message_start" && names.dropFirst().first == "ping")
            #expect(names.suffix(2) == ["message_delta", "message_stop"])
            #expect(names.filter { $0 == "content_block_start" }.count == names.filter { $0 == "content_block_stop" }.count)
            let back = try ClientStream(bytes: try translateStream(events, dialect: AnthropicDialect(), request: request, chunkSize: size).output)
            #expect(back.content == original.content)
            #expect(back.reasoning == original.reasoning)
            #expect(back.toolCalls.mapValues { [$0.id, $0.name, $0.arguments] } == original.toolCalls.mapValues { [$0.id, $0.name, $0.arguments] })
            #expect(back.finishReasons.last == original.finishReasons.last)
            #expect(back.usage?["completion_tokens"] == original.usage?["completion_tokens"])
            #expect(back.usage?["prompt_tokens"] == original.usage?["prompt_tokens"])
        }
    }

    /// The Messages events for an OpenAI client stream fed in pieces of `chunkSize` bytes.
    static func messagesEvents(_ openAI: [UInt8], chunkSize: Int) throws -> [UInt8] {
        var parser = SSEParser()
        var encoder = MessagesStreamEncoder(model: "m", id: "msg_1")
        var output: [UInt8] = []
        for piece in openAI.pieces(of: chunkSize) {
            for event in try parser.feed(piece) {
                if event.isDoneMarker {
                    encoder.finish(into: &output)
                } else if let chunk = try JSONValue.parse(event.data).objectValue {
                    encoder.encode(chunk, into: &output)
                }
            }
        }
        return output
    }

    /// The `event:` names of an event stream, in order.
    static func eventNames(_ bytes: [UInt8]) throws -> [String] {
        var parser = SSEParser()
        return (try parser.feed(bytes) + parser.finish()).compactMap(\.event)
    }

    @Test func anErrorEventIsAnthropics() throws {
        var output: [UInt8] = []
        AnthropicErrorBody(type: "overloaded_error", message: "Overloaded").appendEvent(to: &output)
        #expect(
            String(decoding: output, as: UTF8.self)
                == "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
        )
    }
}
