//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing
import Translate

/// Chat answers and chunk streams written as Responses objects and events.
@Suite struct ResponsesStreamEncoderTests {
    static let builder = ResponseBuilder(
        id: "resp_abc",
        createdAt: 1,
        request: try! ResponsesRequest(parsing: Array(#"{"model":"m","input":"x","metadata":{"a":"b"}}"#.utf8))
    )

    static func chunk(_ delta: JSONObject, finish: String? = nil, usage: JSONValue = .null) -> StreamChunk {
        StreamChunk(object: [
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "m-2024",
            "choices": [["index": 0, "delta": .object(delta), "finish_reason": .optional(finish)]], "usage": usage,
        ])
    }

    /// The events as (type, data) pairs, checking each SSE names its type and counts on.
    static func events(_ bytes: [UInt8]) throws -> [(String, JSONValue)] {
        var parser = SSEParser()
        let events = try parser.feed(bytes) + parser.finish()
        var result: [(String, JSONValue)] = []
        for (number, event) in events.enumerated() {
            let data = try JSONValue.parse(event.data)
            #expect(event.event == data["type"]?.stringValue)
            #expect(data["sequence_number"]?.intValue == number)
            result.append((event.event ?? "", data))
        }
        return result
    }

    @Test func reasoningTextAndToolCallsStreamAsItemsInOrder() throws {
        var encoder = ResponsesStreamEncoder(builder: Self.builder)
        var output: [UInt8] = []
        encoder.encode(Self.chunk(["role": "assistant", "reasoning_content": "Think"]), into: &output)
        encoder.encode(Self.chunk(["reasoning_content": "ing"]), into: &output)
        encoder.encode(Self.chunk(["content": "Hello "]), into: &output)
        encoder.encode(Self.chunk(["content": "world"]), into: &output)
        let call: JSONObject = ["index": 0, "id": "call_1", "type": "function", "function": ["name": "f", "arguments": "{\"a\""]]
        encoder.encode(Self.chunk(["tool_calls": [.object(call)]]), into: &output)
        encoder.encode(Self.chunk(["tool_calls": [["index": 0, "function": ["arguments": ":1}"]]]], finish: "tool_calls"), into: &output)
        encoder.markCompleted()
        encoder.finish(usage: Usage(inputTokens: 5, outputTokens: 7, reasoningTokens: 2), extraUsageFields: ["cost": "0.01"], into: &output)
        let events = try Self.events(output)
        #expect(
            events.map(\.0) == [
                "response.created", "response.in_progress",
                "response.output_item.added", "response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done", "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
                "response.output_text.done", "response.content_part.done", "response.output_item.done",
                "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
                "response.function_call_arguments.done", "response.output_item.done",
                "response.completed",
            ]
        )
        let response = try #require(events.last?.1["response"])
        #expect(response["status"] == "completed")
        #expect(response["model"] == "m-2024")
        #expect(response["metadata"] == ["a": "b"])
        #expect(response["output"]?[0]?["summary"]?[0]?["text"] == "Thinking")
        #expect(response["output"]?[1]?["content"]?[0]?["text"] == "Hello world")
        #expect(response["output"]?[2]?["call_id"] == "call_1")
        #expect(response["output"]?[2]?["arguments"] == "{\"a\":1}")
        #expect(response["usage"]?["output_tokens_details"]?["reasoning_tokens"] == 2)
        #expect(response["usage"]?["cost"] == "0.01")
        #expect(encoder.finalResponse == response.objectValue)
        #expect(encoder.summary.responseID == "resp_abc")
    }

    @Test func aLengthFinishIsIncomplete() throws {
        var encoder = ResponsesStreamEncoder(builder: Self.builder)
        var output: [UInt8] = []
        encoder.encode(Self.chunk(["content": "Cut"], finish: "length"), into: &output)
        encoder.finish(usage: nil, extraUsageFields: [:], into: &output)
        let last = try #require(try Self.events(output).last)
        #expect(last.0 == "response.incomplete")
        #expect(last.1["response"]?["incomplete_details"] == ["reason": "max_output_tokens"])
    }

    @Test func aBrokenStreamEndsWithErrorAndFailed() throws {
        var encoder = ResponsesStreamEncoder(builder: Self.builder)
        var output: [UInt8] = []
        encoder.encode(Self.chunk(["content": "Part"]), into: &output)
        encoder.appendFailure(OpenAIErrorBody(message: "boom", type: "server_error", code: "upstream_error"), to: &output)
        let events = try Self.events(output)
        #expect(events.suffix(2).map(\.0) == ["error", "response.failed"])
        #expect(events.last?.1["response"]?["error"] == ["code": "upstream_error", "message": "boom"])
    }

    @Test func anEmptyStreamStillStartsAndCompletes() throws {
        var encoder = ResponsesStreamEncoder(builder: Self.builder)
        var output: [UInt8] = []
        encoder.finish(usage: nil, extraUsageFields: [:], into: &output)
        #expect(try Self.events(output).map(\.0) == ["response.created", "response.in_progress", "response.completed"])
    }

    @Test func aWholeAnswerBecomesAResponse() throws {
        let chat = ChatResponse(openAI: [
            "id": "chatcmpl-1", "model": "m-2024",
            "choices": [
                [
                    "index": 0, "finish_reason": "stop",
                    "message": [
                        "role": "assistant", "content": "Hi", "reasoning_content": "Hmm",
                        "tool_calls": [["id": "c1", "type": "function", "function": ["name": "f", "arguments": "{}"]]],
                    ],
                ]
            ],
            "usage": ["prompt_tokens": 3, "completion_tokens": 4, "prompt_tokens_details": ["cached_tokens": 1]],
        ])
        let response = Self.builder.response(from: chat, usageExtras: ["currency": "USD"])
        #expect(response["id"] == "resp_abc")
        #expect(response["status"] == "completed")
        #expect(response["output"]?.arrayValue?.compactMap { $0["type"]?.stringValue } == ["reasoning", "message", "function_call"])
        #expect(response["usage"]?["input_tokens_details"] == ["cached_tokens": 1, "cache_write_tokens": 0])
        #expect(response["usage"]?["total_tokens"] == 7)
        #expect(response["usage"]?["currency"] == "USD")
        #expect(Usage(responses: response["usage"]) == Usage(inputTokens: 3, outputTokens: 4, cachedInputTokens: 1))
    }
}
