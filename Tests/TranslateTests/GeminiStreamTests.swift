//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// Recorded and hand-written Gemini streams through parser → translator → encoder.
@Suite struct GeminiStreamTests {
    static let dialect = GeminiDialect()

    static func request(includeUsage: Bool = true) throws -> ChatRequest {
        try chatRequest(
            #"{"model":"gemini-alias","stream":true,"stream_options":{"include_usage":\#(includeUsage)},"messages":[{"role":"user","content":"x"}]}"#
        )
    }

    /// What a client must reassemble from each recorded stream.
    struct Expectation: Sendable, CustomTestStringConvertible {
        var fixture: String
        var content: String
        /// Reasoning is checked against the stream's thought parts, read independently below.
        var hasReasoning: Bool
        var toolCalls: [String]
        var finishReason: String
        var usage: Usage
        var responseID: String

        var testDescription: String { self.fixture }
    }

    static let expectations = [
        Expectation(
            fixture: "gemini/stream_text.sse",
            content: "The weather in Florence,Italy is 40 C.",
            hasReasoning: false,
            toolCalls: [],
            finishReason: "stop",
            usage: Usage(inputTokens: 127, outputTokens: 12),
            responseID: "WgCzaZzmMLnoz7IP_czm6Q4"
        ),
        Expectation(
            fixture: "gemini/stream_thinking.sse",
            content: "",
            hasReasoning: true,
            toolCalls: [#"call_test_0|weather|{"location":"Florence, Italy"}"#],
            finishReason: "tool_calls",
            usage: Usage(inputTokens: 54, outputTokens: 76, reasoningTokens: 62),
            responseID: "zwCzaYWfAbnoz7IPmc_m6Q4"
        ),
        Expectation(
            fixture: "gemini/stream_function_call.sse",
            content: "",
            hasReasoning: false,
            toolCalls: [#"call_test_0|weather|{"location":"Florence,Italy"}"#],
            finishReason: "tool_calls",
            usage: Usage(inputTokens: 54, outputTokens: 58, reasoningTokens: 43),
            responseID: "WQCzaayhL8Xmz7IP-63dqQk"
        ),
        Expectation(
            fixture: "gemini/stream_parallel_function_calls.sse",
            content: "",
            hasReasoning: false,
            toolCalls: [#"call_test_0|add|{"b":3,"a":2}"#, #"call_test_1|multiply|{"a":2,"b":3}"#],
            finishReason: "tool_calls",
            usage: Usage(inputTokens: 121, outputTokens: 74, reasoningTokens: 38),
            responseID: "XQCzaYWvIqfRz7IPupTlyAk"
        ),
    ]

    /// The text of the stream's thought parts, read straight from the raw events.
    static func thoughts(in fixture: String) throws -> String {
        var parser = SSEParser()
        var text = ""
        for event in try parser.feed(try Fixture.bytes(fixture)) + parser.finish() {
            for part in try JSONValue.parse(event.data)["candidates"]?[0]?["content"]?["parts"]?.arrayValue ?? [] where part["thought"] == true {
                text += part["text"]?.stringValue ?? ""
            }
        }
        return text
    }

    static func toolCalls(_ stream: ClientStream) -> [String] {
        stream.toolCalls.sorted { $0.key < $1.key }.map { "\($0.value.id ?? "")|\($0.value.name ?? "")|\($0.value.arguments)" }
    }

    @Test(arguments: Self.expectations, streamChunkSizes)
    func recordedStreamsReassembleIdenticallyAtEveryChunkSize(expected: Expectation, chunkSize: Int) throws {
        let (output, summary) = try translateStream(
            try Fixture.bytes(expected.fixture),
            dialect: Self.dialect,
            request: try Self.request(),
            chunkSize: chunkSize
        )
        let client = try ClientStream(bytes: output)
        #expect(client.content == expected.content)
        let reasoning = try Self.thoughts(in: expected.fixture)
        #expect(reasoning.isEmpty == !expected.hasReasoning)
        #expect(client.reasoning == reasoning)
        #expect(Self.toolCalls(client) == expected.toolCalls)
        #expect(client.finishReasons == [expected.finishReason])
        #expect(client.errors.isEmpty)
        #expect(client.endedWithDone)
        #expect(summary.completed)
        #expect(summary.finishReasons == [expected.finishReason])
        #expect(summary.usage == expected.usage)
        #expect(summary.responseID == expected.responseID)
        #expect(summary.responseModel == "gemini-2.5-flash")
        // The first chunk names the role; exactly one usage chunk, with no choices, comes last.
        #expect(client.chunks.first?["choices"]?[0]?["delta"] == ["role": "assistant", "content": ""])
        let usageChunks = client.chunks.filter { !($0["usage"]?.isNull ?? true) }
        #expect(usageChunks.count == 1)
        #expect(client.chunks.last == usageChunks.first)
        #expect(client.chunks.last?["choices"] == [])
        #expect(Usage(openAI: client.usage) == expected.usage)
        #expect(client.chunks.allSatisfy { $0["object"] == "chat.completion.chunk" && $0["created"] == 1_700_000_000 })
    }

    /// A one-event stream is a whole `GenerateContentResponse`: decoded as a complete answer it
    /// must give the same tool calls, ids included.
    @Test(arguments: ["gemini/stream_function_call.sse", "gemini/stream_parallel_function_calls.sse", "gemini/stream_thinking.sse"])
    func toolCallIDsMatchBetweenStreamedAndCompleteAnswers(fixture: String) throws {
        let bytes = try Fixture.bytes(fixture)
        var parser = SSEParser()
        let events = try parser.feed(bytes) + parser.finish()
        let lastEvent = try #require(events.last)
        let complete = try Self.dialect.decodeResponse(lastEvent.data, for: try Self.request(), context: testResponseContext)
        let completeCalls = JSONValue.object(complete.body)["choices"]?[0]?["message"]?["tool_calls"]?.arrayValue ?? []
        let (output, _) = try translateStream(bytes, dialect: Self.dialect, request: try Self.request(), chunkSize: 7)
        let streamed = Self.toolCalls(try ClientStream(bytes: output))
        #expect(!completeCalls.isEmpty)
        #expect(
            streamed
                == completeCalls.map {
                    "\($0["id"]?.stringValue ?? "")|\($0["function"]?["name"]?.stringValue ?? "")|\($0["function"]?["arguments"]?.stringValue ?? "")"
                }
        )
    }

    @Test func toolCallDeltasCarryTheThoughtSignature() throws {
        let fixture = "gemini/stream_function_call.sse"
        let (output, _) = try translateStream(try Fixture.bytes(fixture), dialect: Self.dialect, request: try Self.request(), chunkSize: .max)
        let client = try ClientStream(bytes: output)
        let calls = client.chunks.compactMap { $0["choices"]?[0]?["delta"]?["tool_calls"]?[0] }
        let call = try #require(calls.first)
        let recorded = try Self.firstEvent(fixture)["candidates"]?[0]?["content"]?["parts"]?[0]?["thoughtSignature"]
        #expect(call["extra_content"] == ["google": ["thought_signature": try #require(recorded)]])
        #expect(call["index"] == 0)
        #expect(call["type"] == "function")
    }

    static func firstEvent(_ fixture: String) throws -> JSONValue {
        var parser = SSEParser()
        let events = try parser.feed(try Fixture.bytes(fixture)) + parser.finish()
        return try JSONValue.parse(try #require(events.first).data)
    }

    @Test func withoutIncludeUsageTheClientGetsNoUsageButTheSidecarKnowsIt() throws {
        let (output, summary) = try translateStream(
            try Fixture.bytes("gemini/stream_text.sse"),
            dialect: Self.dialect,
            request: try Self.request(includeUsage: false),
            chunkSize: 2
        )
        let client = try ClientStream(bytes: output)
        #expect(client.usage == nil)
        #expect(summary.usage == Usage(inputTokens: 127, outputTokens: 12))
        #expect(summary.deliveredText == TextTally("The weather in Florence,Italy is 40 C."))
    }

    // MARK: Hand-written streams

    func run(_ events: [String], includeUsage: Bool = true) throws -> [StreamItem] {
        var translator = Self.dialect.makeStreamTranslator(for: try Self.request(includeUsage: includeUsage), context: testResponseContext)
        var items: [StreamItem] = []
        for event in events { items += try translator.translate(SSEEvent(data: event)) }
        return items + (try translator.finish())
    }

    static func chunks(_ items: [StreamItem]) -> [JSONValue] {
        items.compactMap { if case .chunk(let chunk) = $0 { .object(chunk.object) } else { nil } }
    }

    @Test func finishReasonsAreHeldUntilTheBodyEnds() throws {
        let items = try self.run([
            #"{"candidates":[{"content":{"parts":[{"text":"Hi"}]},"finishReason":"MAX_TOKENS"}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1}}"#,
            #"{"candidates":[{"content":{"parts":[{"text":" there"}]}}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2}}"#,
        ])
        let chunks = Self.chunks(items)
        #expect(
            chunks.map { $0["choices"]?[0]?["delta"] } == [["role": "assistant", "content": ""], ["content": "Hi"], ["content": " there"], [:], nil]
        )
        #expect(chunks[3]["choices"]?[0]?["finish_reason"] == "length")
        #expect(chunks.last?["usage"]?["completion_tokens"] == 2, "the last usageMetadata counts")
        #expect(chunks.last?["id"] == "chatcmpl-test")
        #expect(chunks.last?["model"] == .string(testResponseContext.model), "without modelVersion, the upstream model is reported")
        guard case .end? = items.last else {
            Issue.record("expected .end last")
            return
        }
    }

    @Test func blockedPromptStreamEndsWithContentFilter() throws {
        let items = try self.run([#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8}}"#])
        let chunks = Self.chunks(items)
        #expect(chunks.count == 3)
        #expect(chunks[0]["choices"]?[0]?["delta"]?["role"] == "assistant")
        #expect(chunks[1]["choices"]?[0]?["finish_reason"] == "content_filter")
        #expect(chunks[2]["usage"]?["prompt_tokens"] == 8)
    }

    @Test func safetyStopMidStreamIsAContentFilter() throws {
        let items = try self.run([
            #"{"candidates":[{"content":{"parts":[{"text":"Once"}]}}]}"#, #"{"candidates":[{"content":{"parts":[]},"finishReason":"SAFETY"}]}"#,
        ])
        #expect(Self.chunks(items).compactMap { $0["choices"]?[0]?["finish_reason"]?.stringValue } == ["content_filter"])
    }

    @Test func severalCandidatesStreamAsSeveralChoices() throws {
        let items = try self.run([
            #"{"candidates":[{"content":{"parts":[{"text":"A"}]},"index":0},{"content":{"parts":[{"functionCall":{"name":"f","args":{}}}]},"index":1}]}"#,
            #"{"candidates":[{"content":{"parts":[]},"finishReason":"STOP","index":0},{"content":{"parts":[]},"finishReason":"STOP","index":1}]}"#,
        ])
        let choices = Self.chunks(items).compactMap { $0["choices"]?[0] }
        #expect(choices.map { $0["index"] } == [0, 0, 1, 1, 0, 1])
        #expect(choices[3]["delta"]?["tool_calls"]?[0]?["id"] == "call_test_1_0")
        #expect(choices.compactMap { $0["finish_reason"]?.stringValue } == ["stop", "tool_calls"])
    }

    @Test func errorEventIsAFailure() throws {
        var translator = Self.dialect.makeStreamTranslator(for: try Self.request(), context: testResponseContext)
        _ = try translator.translate(SSEEvent(data: #"{"candidates":[{"content":{"parts":[{"text":"Hel"}]}}]}"#))
        let items = try translator.translate(SSEEvent(data: try Fixture.bytes("gemini/error_503.json")))
        guard case .failure(let failure)? = items.first, items.count == 1 else {
            Issue.record("expected one failure, got \(items)")
            return
        }
        #expect(failure.kind == .overloaded)
        #expect(failure.upstreamStatus == 503)
        #expect(failure.message == "The model is overloaded. Please try again later.")
        #expect(try translator.finish().isEmpty, "the failure already ended the stream")
    }

    @Test(arguments: [[], [#"{"candidates":[{"content":{"parts":[{"text":"Hel"}]}}],"usageMetadata":{"promptTokenCount":3}}"#]])
    func streamEndingBeforeAFinishReasonIsAProtocolViolation(events: [String]) throws {
        let error = #expect(throws: TranslationError.self) { try self.run(events) }
        #expect(error?.code == .streamProtocolViolation)
    }

    @Test func garbageEventIsAProtocolViolation() throws {
        let error = #expect(throws: TranslationError.self) { try self.run(["{not json"]) }
        #expect(error?.code == .streamProtocolViolation)
    }
}
