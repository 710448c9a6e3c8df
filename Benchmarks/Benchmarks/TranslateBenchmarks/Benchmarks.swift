//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Benchmark
import Translate

/// Time and allocations of the work the sidecar does per request and per stream chunk.
///
/// Allocation counts are exact and machine-independent, so they are what the committed
/// thresholds (`Thresholds/`) gate on; times are for comparing two runs on one machine.
let benchmarks: @Sendable () -> Void = {
    let request = Fixture.bytes("openai/chat_request_tool_result.json")
    let parsedRequest = Fixture.chatRequest("openai/chat_request_tool_result.json")
    let streamRequest = Fixture.chatRequest("openai/chat_request_stream.json")
    let target = UpstreamTarget(model: "upstream-model", maxOutputTokens: 8192)
    let perRequest = configuration(.one)
    let perChunk = configuration(.kilo)
    let events = perChunk.scalingFactor.rawValue
    let dialects = [
        DialectFixtures(
            name: "OpenAI",
            dialect: OpenAICompatibleDialect(quirks: .openAI),
            answer: Fixture.bytes("openai/chat_response_tool_calls.json"),
            stream: RecordedStream("openai/stream_text.sse", opening: 1, closing: 3, eventCount: events)
        ),
        DialectFixtures(
            name: "Anthropic",
            dialect: AnthropicDialect(),
            answer: Fixture.bytes("anthropic/messages_response_tool_use.json"),
            stream: RecordedStream("anthropic/stream_text_real.sse", opening: 3, closing: 3, eventCount: events)
        ),
        DialectFixtures(
            name: "Gemini",
            dialect: GeminiDialect(),
            answer: Fixture.bytes("gemini/generate_response_function_call.json"),
            stream: RecordedStream("gemini/stream_text.sse", opening: 0, closing: 1, eventCount: events)
        ),
    ]

    for fixtures in dialects {
        let dialect = fixtures.dialect
        // Per request: parse and validate the client's body, then encode the provider's.
        Benchmark("RequestParseEncode.\(fixtures.name)", configuration: perRequest) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try dialect.encodeRequest(ChatRequest(parsing: request), target: target))
            }
        }
        // Per non-streaming answer: the provider's JSON to the client's `chat.completion` bytes.
        Benchmark("ResponseDecode.\(fixtures.name)", configuration: perRequest) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try dialect.decodeResponse(fixtures.answer, for: parsedRequest, context: responseContext).serialized())
            }
        }
        // Per stream event: one iteration relays a whole stream of `events` events, and the
        // output divides by the scaling factor, which is the same number.
        Benchmark("StreamChunk.\(fixtures.name)", configuration: perChunk) { _ in
            blackHole(try relay(fixtures.stream, dialect: dialect, request: streamRequest))
        }
    }
    // The Responses API translated through the chat model, beside the chat figures above.
    let responsesRequest = Fixture.bytes("openai/responses_request_tools.json")
    let responses = try! ResponsesRequest(parsing: responsesRequest)
    let builder = ResponseBuilder(id: "resp_bench", createdAt: 1_700_000_000, request: responses)
    let anthropic = dialects[1]
    Benchmark("Responses.RequestParseEncode.Anthropic", configuration: perRequest) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try anthropic.dialect.encodeRequest(ResponsesRequest(parsing: responsesRequest).chatRequest(history: []), target: target))
        }
    }
    Benchmark("Responses.ResponseDecode.Anthropic", configuration: perRequest) { benchmark in
        let chat = try responses.chatRequest(history: [])
        for _ in benchmark.scaledIterations {
            let completion = try anthropic.dialect.decodeResponse(anthropic.answer, for: chat, context: responseContext)
            blackHole(builder.response(from: completion, usageExtras: [:]).serialized())
        }
    }
    Benchmark("Responses.StreamChunk.Anthropic", configuration: perChunk) { _ in
        var streaming = responses
        streaming.stream = true
        let chat = try streaming.chatRequest(history: [])
        blackHole(try relay(anthropic.stream, dialect: anthropic.dialect, request: chat, encoder: ResponsesStreamEncoder(builder: builder)))
    }
    Benchmark("StreamChunk.SSEParseOnly", configuration: perChunk) { _ in
        var parser = SSEParser()
        for read in dialects[1].stream.events { blackHole(try parser.feed(read)) }
    }
}

/// What one dialect is measured on: a recorded non-streaming answer and a recorded stream.
private struct DialectFixtures {
    var name: String
    var dialect: any Dialect
    var answer: [UInt8]
    var stream: RecordedStream
}

/// Operations of tens of microseconds are timed one by one (`.one`); stream events of a few
/// microseconds a thousand at a time (`.kilo`).
private func configuration(_ scalingFactor: BenchmarkScalingFactor) -> Benchmark.Configuration {
    Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: scalingFactor,
        maxDuration: .seconds(2),
        // Times vary between runs by far more than a few percent on a shared machine; allocations not at all.
        thresholds: [
            .wallClock: .init(relative: [.p50: 15]),
            .throughput: .init(relative: [.p50: 15]),
            .mallocCountTotal: .init(relative: [.p90: 0]),
        ]
    )
}
