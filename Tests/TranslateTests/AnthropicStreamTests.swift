//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// Anthropic event streams through parser → translator → encoder, at every chunk size.
@Suite struct AnthropicStreamTests {
    typealias T = AnthropicTest

    static func request(includeUsage: Bool = true, _ extra: String = "") throws -> ChatRequest {
        try chatRequest(T.request(messages: T.userHello, #""stream":true,"stream_options":{"include_usage":\#(includeUsage)}"# + extra))
    }

    /// What a recorded stream must add up to for an OpenAI client.
    struct Expectation: Sendable, CustomTestStringConvertible {
        var fixture: String
        var id: String
        var model: String
        var content: String
        var reasoning = ""
        /// `index|id|name|arguments` per tool call.
        var toolCalls: [String] = []
        var finishReason: String
        var usage: Usage

        var testDescription: String { self.fixture }
    }

    static let recordedStreams = [
        Expectation(
            fixture: "anthropic/stream_text.sse",
            id: "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK",
            model: "claude-3-opus-latest",
            content: "Hello there!",
            finishReason: "stop",
            usage: Usage(inputTokens: 11, outputTokens: 6)
        ),
        Expectation(
            fixture: "anthropic/stream_text_real.sse",
            id: "msg_01R8GdyyLQUhUfyjqSCMbnWg",
            model: "claude-sonnet-4-20250514",
            content: #"Olá! (That's "hi" in Portuguese)"# + "\n\n" + #"You could also say "Oi!" which is a more casual way to say hi in Portuguese."#,
            finishReason: "stop",
            usage: Usage(inputTokens: 16, outputTokens: 38)
        ),
        Expectation(
            fixture: "anthropic/stream_tool_use.sse",
            id: "msg_019Q1hrJbZG26Fb9BQhrkHEr",
            model: "claude-sonnet-4-20250514",
            content: "I'll check the current weather in Paris for you.",
            toolCalls: [#"0|toolu_01NRLabsLyVHZPKxbKvkfSMn|get_weather|{"location": "Paris"}"#],
            finishReason: "tool_calls",
            usage: Usage(inputTokens: 377, outputTokens: 65)
        ),
        Expectation(
            fixture: "anthropic/stream_thinking_tool_use.sse",
            id: "msg_01KTBB57LAzaSZs8kMNvfnsY",
            model: "claude-sonnet-4-20250514",
            content: "",
            reasoning: "The user is asking for weather information for Florence, Italy. I have access to a weather function that takes a "
                + #"location parameter. The user has provided the location as "Florence, Italy" which is specific enough for the weather "#
                + "function. I have all the required parameters to make the function call.",
            toolCalls: [#"0|toolu_01Js4AMfx5qpTLhwTusnvT68|weather|{"location": "Florence, Italy"}"#],
            finishReason: "tool_calls",
            usage: Usage(inputTokens: 424, outputTokens: 119)
        ),
    ]

    static func toolCalls(_ client: ClientStream) -> [String] {
        client.toolCalls.sorted { $0.key < $1.key }.map { "\($0.key)|\($0.value.id ?? "")|\($0.value.name ?? "")|\($0.value.arguments)" }
    }

    @Test(arguments: recordedStreams, streamChunkSizes)
    func recordedStreamsReachTheClientComplete(expected: Expectation, chunkSize: Int) throws {
        let bytes = try Fixture.bytes(expected.fixture)
        let (output, summary) = try translateStream(bytes, dialect: T.dialect, request: try Self.request(), chunkSize: chunkSize)
        let client = try ClientStream(bytes: output)
        #expect(client.content == expected.content)
        #expect(client.reasoning == expected.reasoning)
        #expect(Self.toolCalls(client) == expected.toolCalls)
        #expect(client.finishReasons == [expected.finishReason])
        #expect(client.errors.isEmpty)
        #expect(client.endedWithDone)
        #expect(summary.completed)
        #expect(summary.finishReasons == [expected.finishReason])
        #expect(summary.usage == expected.usage)
        #expect(Usage(openAI: client.usage) == expected.usage)

        // The first chunk opens the assistant message; every chunk is OpenAI-shaped with Anthropic's id and model.
        #expect(client.chunks.first?["choices"]?[0]?["delta"] == ["role": "assistant", "content": "", "refusal": nil])
        for chunk in client.chunks {
            #expect(chunk["id"] == .string(expected.id))
            #expect(chunk["model"] == .string(expected.model))
            #expect(chunk["object"] == "chat.completion.chunk")
            #expect(chunk["created"] == .int(testResponseContext.created))
        }
        // Exactly one usage chunk, with no choices, last before [DONE].
        let usageChunks = client.chunks.filter { $0["usage"].map { !$0.isNull } ?? false }
        #expect(usageChunks.count == 1)
        #expect(usageChunks.first?["choices"] == [])
        #expect(client.chunks.last == usageChunks.first)

        // Byte for byte what the whole stream at once gives.
        let (whole, _) = try translateStream(bytes, dialect: T.dialect, request: try Self.request(), chunkSize: .max)
        #expect(output == whole)
    }

    @Test(arguments: ["anthropic/stream_text_real.sse", "anthropic/stream_tool_use.sse"])
    func withoutIncludeUsageNoChunkCarriesUsageButTheSidecarKnowsIt(fixture: String) throws {
        let (output, summary) = try translateStream(
            try Fixture.bytes(fixture),
            dialect: T.dialect,
            request: try Self.request(includeUsage: false),
            chunkSize: 7
        )
        let client = try ClientStream(bytes: output)
        #expect(client.usage == nil)
        #expect(client.chunks.allSatisfy { $0["choices"]?.arrayValue?.isEmpty == false })
        #expect(summary.usage == Self.recordedStreams.first { $0.fixture == fixture }?.usage)
        #expect(client.endedWithDone)
    }

    @Test(arguments: streamChunkSizes)
    func recordedErrorEventBecomesAFailure(chunkSize: Int) throws {
        let (output, summary) = try translateStream(
            try Fixture.bytes("anthropic/stream_error.sse"),
            dialect: T.dialect,
            request: try Self.request(),
            chunkSize: chunkSize
        )
        let client = try ClientStream(bytes: output)
        #expect(client.errors == [["message": "Overloaded", "type": "overloaded_error", "param": nil, "code": nil]])
        #expect(!client.endedWithDone)
        #expect(!summary.completed)
    }

    @Test func errorEventsAreClassifiedAfterContentToo() throws {
        var translator = T.dialect.makeStreamTranslator(for: try Self.request(), context: testResponseContext)
        let start = T.messageStart()
        _ = try translator.translate(SSEEvent(event: start.0, data: start.1))
        let items = try translator.translate(
            SSEEvent(event: "error", data: #"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#)
        )
        guard case .failure(let failure)? = items.first, items.count == 1 else {
            Issue.record("expected one failure, got \(items)")
            return
        }
        #expect(failure.kind == .rateLimited)
        #expect(failure.type == "rate_limit_error")
        #expect(failure.message == "slow down")
        #expect(failure.upstreamStatus == nil)
        #expect(try translator.finish().isEmpty, "a stream that reported its error is not also truncated")
    }

    // MARK: Hand-written streams

    @Test(arguments: streamChunkSizes)
    func theStructuredAnswerToolStreamsAsContent(chunkSize: Int) throws {
        let stream = T.sse([
            T.messageStart(),
            T.blockStart(0, #"{"type":"tool_use","id":"toolu_9","name":"Book","input":{}}"#),
            T.blockDelta(0, #"{"type":"input_json_delta","partial_json":""}"#),
            T.blockDelta(0, #"{"type":"input_json_delta","partial_json":"{\"title\": \"LO"}"#),
            T.blockDelta(0, #"{"type":"input_json_delta","partial_json":"TR\", \"year\": 1954}"}"#),
            T.blockStop(0),
            T.messageDelta("tool_use"),
            T.messageStop,
        ])
        let request = try Self.request(#","response_format":{"type":"json_schema","json_schema":{"name":"Book","schema":{"type":"object"}}}"#)
        let (output, summary) = try translateStream(stream, dialect: T.dialect, request: request, chunkSize: chunkSize)
        let client = try ClientStream(bytes: output)
        #expect(client.content == #"{"title": "LOTR", "year": 1954}"#)
        #expect(client.toolCalls.isEmpty)
        #expect(client.finishReasons == ["stop"])
        #expect(summary.usage == Usage(inputTokens: 10, outputTokens: 7))
        #expect(client.endedWithDone)
    }

    @Test func theAnswerToolNextToAClientToolFinishesWithToolCalls() throws {
        let stream = T.sse([
            T.messageStart(),
            T.blockStart(0, #"{"type":"tool_use","id":"toolu_1","name":"weather","input":{}}"#),
            T.blockDelta(0, #"{"type":"input_json_delta","partial_json":"{}"}"#),
            T.blockStop(0),
            T.blockStart(1, #"{"type":"tool_use","id":"toolu_2","name":"json_object","input":{}}"#),
            T.blockDelta(1, #"{"type":"input_json_delta","partial_json":"{\"a\":1}"}"#),
            T.blockStop(1),
            T.messageDelta("tool_use"),
            T.messageStop,
        ])
        let request = try Self.request(#","tools":[\#(T.weatherTool)],"response_format":{"type":"json_object"}"#)
        let client = try ClientStream(bytes: try translateStream(stream, dialect: T.dialect, request: request, chunkSize: .max).output)
        #expect(Self.toolCalls(client) == ["0|toolu_1|weather|{}"])
        #expect(client.content == #"{"a":1}"#)
        #expect(client.finishReasons == ["tool_calls"])
    }

    @Test func toolCallsAreNumberedInOrderAndInputGivenWholeIsSent() throws {
        let stream = T.sse([
            T.messageStart(),
            T.blockStart(0, #"{"type":"text","text":"Checking. "}"#),
            T.blockDelta(0, #"{"type":"text_delta","text":"Both."}"#),
            T.blockStop(0),
            T.blockStart(1, #"{"type":"tool_use","id":"toolu_a","name":"f","input":{"n":1}}"#),
            T.blockStop(1),
            T.blockStart(2, #"{"type":"tool_use","id":"toolu_b","name":"g","input":{}}"#),
            T.blockDelta(2, #"{"type":"input_json_delta","partial_json":"{\"n\":"}"#),
            T.blockDelta(2, #"{"type":"input_json_delta","partial_json":"2}"}"#),
            T.blockStop(2),
            T.messageDelta("tool_use"),
            T.messageStop,
        ])
        let (output, _) = try translateStream(stream, dialect: T.dialect, request: try Self.request(), chunkSize: 2)
        let client = try ClientStream(bytes: output)
        #expect(client.content == "Checking. Both.")
        #expect(Self.toolCalls(client) == [#"0|toolu_a|f|{"n":1}"#, #"1|toolu_b|g|{"n":2}"#])
        // Each call's first fragment carries id, name, type and empty arguments, as OpenAI's do.
        let first = client.chunks.compactMap { $0["choices"]?[0]?["delta"]?["tool_calls"]?[0] }.first
        #expect(first == ["index": 0, "id": "toolu_a", "type": "function", "function": ["name": "f", "arguments": ""]])
    }

    @Test(arguments: [
        ("end_turn", "stop"), ("stop_sequence", "stop"), ("pause_turn", "stop"), ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"), ("refusal", "content_filter"),
    ])
    func streamedStopReasonsBecomeFinishReasons(stopReason: String, finishReason: String) throws {
        let stream = T.sse([
            T.messageStart(),
            T.blockStart(0, #"{"type":"text","text":""}"#),
            T.blockDelta(0, #"{"type":"text_delta","text":"Hi"}"#),
            T.blockStop(0),
            T.messageDelta(stopReason),
            T.messageStop,
        ])
        let (output, summary) = try translateStream(stream, dialect: T.dialect, request: try Self.request(), chunkSize: .max)
        #expect(try ClientStream(bytes: output).finishReasons == [finishReason])
        #expect(summary.finishReasons == [finishReason])
    }

    @Test func streamedCacheUsageIsCumulative() throws {
        let stream = T.sse([
            T.messageStart(usage: #"{"input_tokens":5,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":1}"#),
            ("ping", #"{"type": "ping"}"#),
            T.blockStart(0, #"{"type":"text","text":""}"#),
            T.blockDelta(0, #"{"type":"text_delta","text":"ok"}"#),
            ("some_future_event", #"{"type":"some_future_event","x":1}"#),
            T.blockDelta(0, #"{"type":"citations_delta","citation":{}}"#),
            T.blockStop(0),
            T.messageDelta("end_turn", usage: #"{"output_tokens":9}"#),
            T.messageStop,
        ])
        let (output, summary) = try translateStream(stream, dialect: T.dialect, request: try Self.request(), chunkSize: 64)
        let expected = Usage(inputTokens: 1105, outputTokens: 9, cachedInputTokens: 1000, cacheCreationInputTokens: 100)
        #expect(summary.usage == expected)
        let client = try ClientStream(bytes: output)
        #expect(client.content == "ok")
        #expect(client.usage?["prompt_tokens_details"] == ["cached_tokens": 1000, "cache_write_tokens": 100])
    }

    // MARK: Broken streams

    @Test(arguments: streamChunkSizes)
    func aStreamCutBeforeMessageStopIsAProtocolViolation(chunkSize: Int) throws {
        let text = String(decoding: try Fixture.bytes("anthropic/stream_text.sse"), as: UTF8.self)
        let cut = try #require(text.firstRange(of: "event: message_stop"))
        let error = #expect(throws: TranslationError.self) {
            try translateStream(Array(text[..<cut.lowerBound].utf8), dialect: T.dialect, request: try Self.request(), chunkSize: chunkSize)
        }
        #expect(error?.code == .streamProtocolViolation)
    }

    @Test(arguments: [
        SSEEvent(event: "content_block_delta", data: #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}"#),
        SSEEvent(event: "message_start", data: "{not json"),
        SSEEvent(event: "message_start", data: #"{"type":"message_start"}"#),
    ])
    func eventsOutOfPlaceAreProtocolViolations(event: SSEEvent) throws {
        var translator = T.dialect.makeStreamTranslator(for: try Self.request(), context: testResponseContext)
        let error = #expect(throws: TranslationError.self) { try translator.translate(event) }
        #expect(error?.code == .streamProtocolViolation)
    }

    @Test func aDeltaForABlockThatIsNotOpenIsAProtocolViolation() throws {
        var translator = T.dialect.makeStreamTranslator(for: try Self.request(), context: testResponseContext)
        let start = T.messageStart()
        _ = try translator.translate(SSEEvent(event: start.0, data: start.1))
        let delta = T.blockDelta(3, #"{"type":"text_delta","text":"x"}"#)
        let error = #expect(throws: TranslationError.self) { try translator.translate(SSEEvent(event: delta.0, data: delta.1)) }
        #expect(error?.code == .streamProtocolViolation)
    }
}
