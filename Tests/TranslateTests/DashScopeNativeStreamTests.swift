//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// Native DashScope streams through parser → translator → encoder, at every chunk size.
@Suite struct DashScopeNativeStreamTests {
    static let dialect = DashScopeNativeDialect()

    static func request(includeUsage: Bool = true) throws -> ChatRequest {
        try chatRequest(
            #"{"model":"qwen-alias","stream":true,"stream_options":{"include_usage":\#(includeUsage)},"messages":[{"role":"user","content":"x"}]}"#
        )
    }

    /// One native event, framed as DashScope frames them.
    static func event(
        _ id: Int,
        reasoning: String = "",
        content: String = "",
        calls: JSONValue? = nil,
        finish: String = "null",
        outputTokens: Int = 1
    ) -> String {
        var message: JSONObject = ["role": "assistant", "content": .string(content), "reasoning_content": .string(reasoning)]
        if let calls { message["tool_calls"] = calls }
        let data: JSONValue = [
            "output": ["choices": [["message": .object(message), "finish_reason": .string(finish)]]],
            "usage": ["input_tokens": 10, "output_tokens": .int(outputTokens), "total_tokens": .int(10 + outputTokens)],
            "request_id": "req-1",
        ]
        return "id:\(id)\nevent:result\n:HTTP_STATUS/200\ndata:\(data.jsonString)\n\n"
    }

    static func stream(_ events: [String]) -> [UInt8] {
        Array(events.joined().utf8)
    }

    static func toolCalls(_ stream: ClientStream) -> [String] {
        stream.toolCalls.sorted { $0.key < $1.key }.map { "\($0.value.id ?? "")|\($0.value.name ?? "")|\($0.value.arguments)" }
    }

    // MARK: Recorded stream

    @Test(arguments: streamChunkSizes)
    func recordedThinkingStreamReassemblesAtEveryChunkSize(chunkSize: Int) throws {
        let (output, summary) = try translateStream(
            try Fixture.bytes("dashscope/native_stream_thinking.sse"),
            dialect: Self.dialect,
            request: try Self.request(),
            chunkSize: chunkSize
        )
        let client = try ClientStream(bytes: output)
        #expect(client.reasoning == "The user is asking")
        #expect(client.content == "123 to the power of 23")
        #expect(client.toolCalls.isEmpty)
        #expect(client.finishReasons == ["stop"])
        #expect(client.errors.isEmpty)
        #expect(client.endedWithDone)
        #expect(summary.completed)
        #expect(summary.usage == Usage(inputTokens: 734, outputTokens: 263, reasoningTokens: 171))
        #expect(summary.responseID == "a1959ad1-2637-4672-a21f-4d351371d254")
        #expect(summary.responseModel == testResponseContext.model, "DashScope names no model: the upstream model is reported")
        #expect(client.chunks.first?["choices"]?[0]?["delta"] == ["role": "assistant", "content": ""])
        let usageChunks = client.chunks.filter { !($0["usage"]?.isNull ?? true) }
        #expect(usageChunks.count == 1, "usage is on every event but reaches the client once")
        #expect(client.chunks.last == usageChunks.first)
        #expect(client.chunks.last?["choices"] == [])
        #expect(Usage(openAI: client.usage) == summary.usage)
    }

    // MARK: Deltas or full text so far

    /// The same answer sent as deltas and as the full text so far (what DashScope does when
    /// `incremental_output` is off or ignored), tool-call arguments included.
    static let incremental = [
        Self.event(1, reasoning: "The"), Self.event(2, reasoning: " user"), Self.event(3, reasoning: " asks.", content: "Hel"),
        Self.event(4, content: "lo"), Self.event(5, content: ", wor"), Self.event(6, content: "ld!"),
        Self.event(7, calls: [["index": 0, "id": "call_q1", "type": "function", "function": ["name": "lookup", "arguments": #"{"q":"#]]]),
        Self.event(8, calls: [["index": 0, "id": "", "type": "function", "function": ["arguments": #""rome"}"#]]]),
        Self.event(9, finish: "tool_calls", outputTokens: 30),
    ]

    static let fullText = [
        Self.event(1, reasoning: "The"), Self.event(2, reasoning: "The user"), Self.event(3, reasoning: "The user asks.", content: "Hel"),
        Self.event(4, reasoning: "The user asks.", content: "Hello"), Self.event(5, reasoning: "The user asks.", content: "Hello, wor"),
        Self.event(6, reasoning: "The user asks.", content: "Hello, world!"),
        Self.event(
            7,
            reasoning: "The user asks.",
            content: "Hello, world!",
            calls: [["index": 0, "id": "call_q1", "type": "function", "function": ["name": "lookup", "arguments": #"{"q":"#]]]
        ),
        Self.event(
            8,
            reasoning: "The user asks.",
            content: "Hello, world!",
            calls: [["index": 0, "id": "call_q1", "type": "function", "function": ["name": "lookup", "arguments": #"{"q":"rome"}"#]]]
        ),
        Self.event(
            9,
            reasoning: "The user asks.",
            content: "Hello, world!",
            calls: [["index": 0, "id": "call_q1", "type": "function", "function": ["name": "lookup", "arguments": #"{"q":"rome"}"#]]],
            finish: "tool_calls",
            outputTokens: 30
        ),
    ]

    @Test(arguments: [Self.incremental, Self.fullText], streamChunkSizes)
    func deltasAndFullTextReassembleToTheSameMessage(events: [String], chunkSize: Int) throws {
        let (output, summary) = try translateStream(Self.stream(events), dialect: Self.dialect, request: try Self.request(), chunkSize: chunkSize)
        let client = try ClientStream(bytes: output)
        #expect(client.reasoning == "The user asks.")
        #expect(client.content == "Hello, world!")
        #expect(Self.toolCalls(client) == [#"call_q1|lookup|{"q":"rome"}"#])
        #expect(client.finishReasons == ["tool_calls"])
        #expect(summary.usage == Usage(inputTokens: 10, outputTokens: 30))
        #expect(summary.responseID == "req-1")
        // Each tool-call fragment after the first carries neither id nor name.
        let fragments = client.chunks.compactMap { $0["choices"]?[0]?["delta"]?["tool_calls"]?[0] }
        #expect(fragments.count == 2)
        #expect(fragments.dropFirst().allSatisfy { $0["id"] == nil && $0["function"]?["name"] == nil })
    }

    /// Deltas that happen to start with the text before them are not mistaken for full text.
    @Test(arguments: [
        (["ha", "ha", "haha", "!", ""], "hahahaha!"),
        (["Hel", "Hello", " world", ""], "HelHello world"),
        (["a", "ab", "ab", "c", ""], "aababc"),
        (["Hi", "Hi there"], "Hi there"),
        (["Hi", "Hi there", "Hi there"], "Hi there"),
        (["The", "The cat", "The cat sat", "The cat sat."], "The cat sat."),
    ])
    func ambiguousPrefixesAreSettledByLaterEvents(contents: [String], expected: String) throws {
        let events = contents.enumerated().map { index, content in
            Self.event(index + 1, content: content, finish: index == contents.count - 1 ? "stop" : "null")
        }
        for chunkSize in [1, Int.max] {
            let (output, _) = try translateStream(Self.stream(events), dialect: Self.dialect, request: try Self.request(), chunkSize: chunkSize)
            #expect(try ClientStream(bytes: output).content == expected)
        }
    }

    @Test func toolCallsWithoutIDsGetMintedOnes() throws {
        let events = [
            Self.event(
                1,
                calls: [["index": 0, "function": ["name": "a", "arguments": "{}"]], ["index": 1, "function": ["name": "b", "arguments": ""]]]
            ),
            Self.event(2, calls: [["index": 1, "function": ["arguments": "{}"]]]),
            Self.event(3, finish: "stop"),
        ]
        let (output, _) = try translateStream(Self.stream(events), dialect: Self.dialect, request: try Self.request(), chunkSize: 64)
        let client = try ClientStream(bytes: output)
        #expect(Self.toolCalls(client) == ["call_test_0|a|{}", "call_test_1|b|{}"])
        #expect(client.finishReasons == ["tool_calls"], "a stop after tool calls is a tool_calls finish")
    }

    // MARK: Ends and errors

    func translator() throws -> any StreamTranslator {
        Self.dialect.makeStreamTranslator(for: try Self.request(), context: testResponseContext)
    }

    @Test func theFinishEventEndsTheStreamAndLaterEventsAreIgnored() throws {
        var translator = try self.translator()
        let items = try translator.translate(
            SSEEvent(
                event: "result",
                data:
                    "{\"output\":{\"choices\":[{\"message\":{\"content\":\"Hi\"},\"finish_reason\":\"length\"}]},\"usage\":{\"input_tokens\":2,\"output_tokens\":1}}"
            )
        )
        let chunks = items.compactMap { if case .chunk(let chunk) = $0 { JSONValue.object(chunk.object) } else { nil } }
        #expect(chunks.map { $0["choices"]?[0]?["delta"] } == [["role": "assistant", "content": ""], ["content": "Hi"], [:], nil])
        #expect(chunks[2]["choices"]?[0]?["finish_reason"] == "length")
        #expect(chunks[3]["usage"]?["prompt_tokens"] == 2)
        guard case .end? = items.last else {
            Issue.record("expected .end")
            return
        }
        #expect(try translator.translate(SSEEvent(event: "result", data: "{\"output\":{\"choices\":[]}}")).isEmpty)
        #expect(try translator.finish().isEmpty)
    }

    @Test(arguments: [
        SSEEvent(event: "error", data: #"{"code":"Throttling.RateQuota","message":"Requests rate limit exceeded.","request_id":"r"}"#),
        SSEEvent(event: "result", data: #"{"code":"Throttling","message":"Requests rate limit exceeded.","request_id":"r"}"#),
    ])
    func errorEventsAreFailures(event: SSEEvent) throws {
        var translator = try self.translator()
        _ = try translator.translate(SSEEvent(event: "result", data: #"{"output":{"choices":[{"message":{"content":"a"},"finish_reason":"null"}]}}"#))
        let items = try translator.translate(event)
        guard case .failure(let failure)? = items.first, items.count == 1 else {
            Issue.record("expected one failure, got \(items)")
            return
        }
        #expect(failure.kind == .rateLimited)
        #expect(failure.code?.hasPrefix("Throttling") == true)
        #expect(failure.message == "Requests rate limit exceeded.")
        #expect(try translator.finish().isEmpty)
    }

    @Test func errorEventWithoutJSONIsStillAFailure() throws {
        var translator = try self.translator()
        let items = try translator.translate(SSEEvent(event: "error", data: "upstream exploded"))
        guard case .failure(let failure)? = items.first else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.kind == .serverError)
    }

    @Test func streamEndingBeforeAFinishReasonIsAProtocolViolation() throws {
        let bytes = try Fixture.bytes("dashscope/native_stream_thinking.sse")
        let lastEvent = bytes.indices.filter { bytes[$0...].starts(with: Array("id:54".utf8)) }
        let truncated = Array(bytes[..<(try #require(lastEvent.first))])
        let error = #expect(throws: TranslationError.self) {
            try translateStream(truncated, dialect: Self.dialect, request: try Self.request(), chunkSize: 7)
        }
        #expect(error?.code == .streamProtocolViolation)
    }

    @Test(arguments: ["{not json", #"{"request_id":"r"}"#, #"{"output":{"choices":[{"finish_reason":"null"}]}}"#])
    func unreadableEventsAreProtocolViolations(data: String) throws {
        var translator = try self.translator()
        let error = #expect(throws: TranslationError.self) { try translator.translate(SSEEvent(event: "result", data: data)) }
        #expect(error?.code == .streamProtocolViolation)
    }
}
