//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// Recorded OpenAI-format streams through parser → translator → encoder, at every chunk size.
@Suite struct OpenAIStreamTests {
    static let dialect = OpenAICompatibleDialect(quirks: .openAI)

    static func request(includeUsage: Bool) throws -> ChatRequest {
        try chatRequest(
            #"{"model":"m","stream":true,"stream_options":{"include_usage":\#(includeUsage)},"messages":[{"role":"user","content":"x"}]}"#
        )
    }

    /// The message the provider streamed, reassembled from its raw events.
    static func upstreamView(_ fixture: String) throws -> ClientStream {
        try ClientStream(bytes: try Fixture.bytes(fixture))
    }

    @Test(
        arguments: [
            "openai/stream_text.sse", "openai/stream_tool_calls.sse", "openai/stream_parallel_tool_calls.sse",
            "deepseek/stream_reasoner.sse", "deepseek/stream_tool_calls.sse", "dashscope/compat_stream_thinking.sse",
        ],
        streamChunkSizes
    )
    func clientSeesExactlyWhatTheProviderStreamed(fixture: String, chunkSize: Int) throws {
        let upstream = try Self.upstreamView(fixture)
        let (output, summary) = try translateStream(
            try Fixture.bytes(fixture),
            dialect: Self.dialect,
            request: try Self.request(includeUsage: true),
            chunkSize: chunkSize
        )
        let client = try ClientStream(bytes: output)
        #expect(client.content == upstream.content)
        #expect(client.reasoning == upstream.reasoning)
        #expect(
            client.toolCalls.mapValues { "\($0.id ?? "")|\($0.name ?? "")|\($0.arguments)" }
                == upstream.toolCalls.mapValues { "\($0.id ?? "")|\($0.name ?? "")|\($0.arguments)" }
        )
        #expect(client.finishReasons == upstream.finishReasons)
        #expect(client.endedWithDone)
        #expect(summary.completed)
        #expect(summary.finishReasons == upstream.finishReasons)
        // With include_usage: exactly one usage chunk, with empty choices, right before [DONE].
        let usageChunks = client.chunks.filter { $0["usage"].map { !$0.isNull } ?? false }
        if upstream.usage != nil {
            #expect(usageChunks.count == 1)
            #expect(usageChunks.first?["choices"] == [])
            #expect(client.chunks.last == usageChunks.first)
            #expect(Usage(openAI: client.usage) == Usage(openAI: upstream.usage))
        }
    }

    @Test(arguments: ["openai/stream_text.sse", "deepseek/stream_reasoner.sse", "deepseek/stream_tool_calls.sse"])
    func withoutIncludeUsageNoChunkCarriesUsage(fixture: String) throws {
        let (output, summary) = try translateStream(
            try Fixture.bytes(fixture),
            dialect: Self.dialect,
            request: try Self.request(includeUsage: false),
            chunkSize: 7
        )
        let client = try ClientStream(bytes: output)
        #expect(client.usage == nil)
        #expect(client.chunks.allSatisfy { $0["choices"]?.arrayValue?.isEmpty == false })
        // …but the sidecar still knows the usage for billing.
        #expect(summary.usage == Usage(openAI: try Self.upstreamView(fixture).usage))
    }

    @Test func deepSeekUsageOnTheFinishChunkBecomesAUsageChunk() throws {
        let fixture = "deepseek/stream_tool_calls.sse"
        let (output, summary) = try translateStream(
            try Fixture.bytes(fixture),
            dialect: Self.dialect,
            request: try Self.request(includeUsage: true),
            chunkSize: .max
        )
        let client = try ClientStream(bytes: output)
        let finish = try #require(client.chunks.first { $0["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls" })
        #expect(finish["usage"] == .null)
        #expect(summary.usage == Usage(inputTokens: 161, outputTokens: 25, cachedInputTokens: 128))
        #expect(client.chunks.last?["usage"]?["prompt_tokens_details"]?["cached_tokens"] == 128)
    }

    @Test func unchangedChunksAreForwardedByteForByte() throws {
        let bytes = try Fixture.bytes("openai/stream_text.sse")
        var parser = SSEParser()
        let upstreamEvents = try parser.feed(bytes) + parser.finish()
        let (output, _) = try translateStream(bytes, dialect: Self.dialect, request: try Self.request(includeUsage: true), chunkSize: .max)
        var clientParser = SSEParser()
        let clientEvents = try clientParser.feed(output) + clientParser.finish()
        // Every content chunk (all but the usage chunk and [DONE]) keeps the provider's exact bytes.
        let contentEvents = upstreamEvents.filter { !$0.isDoneMarker && (try? JSONValue.parse($0.data))?["choices"] != [] }
        #expect(Array(clientEvents.prefix(contentEvents.count)).map(\.data) == contentEvents.map(\.data))
    }

    @Test func midStreamErrorEventBecomesAFailure() throws {
        var translator = Self.dialect.makeStreamTranslator(for: try Self.request(includeUsage: false), context: testResponseContext)
        let items = try translator.translate(SSEEvent(data: #"{"error":{"message":"overloaded","type":"server_error","code":null}}"#))
        guard case .failure(let failure)? = items.first else {
            Issue.record("expected a failure, got \(items)")
            return
        }
        #expect(failure.message == "overloaded")
    }

    /// An error object beside `"choices": null` (or any choices) is still a failure, and a chunk
    /// whose `choices` is neither an array nor null is a broken stream, not a chunk to pass on.
    @Test(arguments: [
        #"{"error":{"message":"overloaded","type":"server_error"},"choices":null}"#,
        #"{"error":{"message":"overloaded","type":"server_error"},"choices":[]}"#,
    ])
    func anErrorBesideChoicesIsAFailure(data: String) throws {
        var translator = Self.dialect.makeStreamTranslator(for: try Self.request(includeUsage: false), context: testResponseContext)
        let items = try translator.translate(SSEEvent(data: data))
        guard case .failure(let failure)? = items.first else {
            Issue.record("expected a failure, got \(items)")
            return
        }
        #expect(failure.message == "overloaded")
    }

    @Test func choicesThatAreNotAnArrayBreakTheStream() throws {
        var translator = Self.dialect.makeStreamTranslator(for: try Self.request(includeUsage: false), context: testResponseContext)
        let error = #expect(throws: TranslationError.self) {
            try translator.translate(SSEEvent(data: #"{"id":"x","choices":"none"}"#))
        }
        #expect(error?.code == .streamProtocolViolation)
    }

    @Test func truncatedStreamIsAProtocolViolation() throws {
        var translator = Self.dialect.makeStreamTranslator(for: try Self.request(includeUsage: false), context: testResponseContext)
        _ = try translator.translate(SSEEvent(data: #"{"id":"x","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#))
        let error = #expect(throws: TranslationError.self) { try translator.finish() }
        #expect(error?.code == .streamProtocolViolation)
    }

    @Test func streamWithoutDoneMarkerButFinishedCompletes() throws {
        var translator = Self.dialect.makeStreamTranslator(for: try Self.request(includeUsage: false), context: testResponseContext)
        _ = try translator.translate(SSEEvent(data: #"{"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#))
        let items = try translator.finish()
        #expect(items.count == 1)
        if case .end? = items.first {} else { Issue.record("expected .end") }
    }

    @Test func garbageEventIsAProtocolViolation() throws {
        var translator = Self.dialect.makeStreamTranslator(for: try Self.request(includeUsage: false), context: testResponseContext)
        let error = #expect(throws: TranslationError.self) { try translator.translate(SSEEvent(data: "{not json")) }
        #expect(error?.code == .streamProtocolViolation)
    }

    @Test func deliveredTextIsTalliedForEstimates() throws {
        let fixture = "deepseek/stream_reasoner.sse"
        let upstream = try Self.upstreamView(fixture)
        let (_, summary) = try translateStream(
            try Fixture.bytes(fixture),
            dialect: Self.dialect,
            request: try Self.request(includeUsage: false),
            chunkSize: 2
        )
        #expect(summary.deliveredText == TextTally(upstream.reasoning + upstream.content))
    }
}
