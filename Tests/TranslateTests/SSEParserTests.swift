//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

@Suite struct SSEParserTests {
    static let fixtures = [
        "openai/stream_text.sse", "openai/stream_tool_calls.sse", "openai/stream_parallel_tool_calls.sse", "deepseek/stream_reasoner.sse",
        "deepseek/stream_tool_calls.sse", "dashscope/compat_stream_thinking.sse", "dashscope/native_stream_thinking.sse",
        "anthropic/stream_text.sse", "anthropic/stream_text_real.sse", "anthropic/stream_tool_use.sse", "gemini/stream_text.sse",
        "gemini/stream_function_call.sse",
    ]

    /// Every fixture yields exactly the same events however its bytes are split.
    @Test(arguments: fixtures, streamChunkSizes)
    func chunkingDoesNotChangeEvents(fixture: String, chunkSize: Int) throws {
        let bytes = try Fixture.bytes(fixture)
        var whole = SSEParser()
        let expected = try whole.feed(bytes) + whole.finish()
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for piece in bytes.pieces(of: chunkSize) {
            events += try parser.feed(piece)
        }
        events += parser.finish()
        #expect(events == expected)
        #expect(!events.isEmpty)
        for event in events where !event.isDoneMarker {
            #expect((try? JSONValue.parse(event.data)) != nil, "event data is not JSON: \(event.text)")
        }
    }

    @Test func anthropicNamedEventsKeepTheirNames() throws {
        var parser = SSEParser()
        let events = try parser.feed(try Fixture.bytes("anthropic/stream_text.sse")) + parser.finish()
        #expect(events.first?.event == "message_start")
        #expect(events.last?.event == "message_stop")
        #expect(events.contains { $0.event == "ping" })
    }

    @Test func dashScopeFramingWithoutSpacesAndWithComments() throws {
        var parser = SSEParser()
        let events = try parser.feed(try Fixture.bytes("dashscope/native_stream_thinking.sse")) + parser.finish()
        #expect(events.first?.id == "1")
        #expect(events.allSatisfy { $0.event == "result" })
        #expect(events.first.map { $0.text.hasPrefix("{\"output\"") } == true)
    }

    @Test func geminiCRLFSeparatorsAndNoEndMarker() throws {
        let bytes = try Fixture.bytes("gemini/stream_text.sse")
        #expect(bytes.contains(UInt8(ascii: "\r")))
        var parser = SSEParser()
        let events = try parser.feed(bytes) + parser.finish()
        #expect(events.count == bytes.split(separator: UInt8(ascii: "\n")).filter { $0.starts(with: "data:".utf8) }.count)
    }

    @Test func lineEndingsCommentsAndMultilineData() throws {
        var parser = SSEParser()
        let text = ": comment\r\nevent: a\r\ndata: one\r\ndata:two\r\r\ndata: last"
        var events: [SSEEvent] = []
        for byte in Array(text.utf8) { events += try parser.feed([byte]) }
        events += parser.finish()
        #expect(events == [SSEEvent(event: "a", data: "one\ntwo"), SSEEvent(data: "last")])
    }

    @Test func eventsWithoutDataAreNotDispatched() throws {
        var parser = SSEParser()
        #expect(try parser.feed(Array("event: ping\n\nid: 3\n\n".utf8)).isEmpty)
    }

    @Test func overlongLinesAreAProtocolViolation() throws {
        var parser = SSEParser()
        let line = [UInt8](repeating: UInt8(ascii: "a"), count: SSEParser.maximumLineLength + 1)
        let error = try #require(throws: TranslationError.self) { try parser.feed(line) }
        #expect(error.code == .streamProtocolViolation)
    }
}
