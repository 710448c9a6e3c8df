//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Translate

extension FuzzTarget {
    static func json(_ input: [UInt8]) {
        guard let value = try? JSONValue.parse(input) else { return }
        let written = value.serialized()
        guard let reparsed = try? JSONValue.parse(written) else {
            preconditionFailure("serialized JSON does not parse: \(String(decoding: written, as: UTF8.self))")
        }
        // Numbers keep their text, so the round trip is exact.
        precondition(reparsed == value, "JSON round trip changed the value")
    }

    static func sse(_ input: [UInt8]) {
        var whole = SSEParser()
        let expected = Result { () throws(TranslationError) in try whole.feed(input) + whole.finish() }
        let split = input.isEmpty ? 0 : Int(input[0]) % (input.count + 1)
        var chunked = SSEParser()
        let actual = Result { () throws(TranslationError) in
            try chunked.feed(input[..<split]) + chunked.feed(input[split...]) + chunked.finish()
        }
        if case .success(let events) = expected, case .success(let other) = actual {
            precondition(events == other, "SSE events depend on where the stream was split (at \(split))")
        }
    }

    /// The dialects the sidecar configures, OpenAI-compatible quirks included.
    static let dialects: [any Dialect] = [
        OpenAICompatibleDialect(quirks: .openAI),
        OpenAICompatibleDialect(quirks: .deepSeek),
        OpenAICompatibleDialect(quirks: .dashScope),
        OpenAICompatibleDialect(quirks: .generic),
        AnthropicDialect(),
        GeminiDialect(),
        DashScopeNativeDialect(),
    ]

    /// What the answers are decoded for: a streaming request with a tool, so tool-call paths run.
    static let request = try! ChatRequest(
        parsing: Array(
            #"""
            {"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],
             "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}
            """#.utf8
        )
    )

    static let embeddingsRequest = try! EmbeddingsRequest(parsing: Array(#"{"model":"e","input":["a","b"]}"#.utf8))

    /// Byte 0 picks the dialect, byte 1 the part; the rest is the body.
    static func dialect(_ input: [UInt8]) {
        guard input.count >= 2 else { return }
        let dialect = Self.dialects[Int(input[0]) % Self.dialects.count]
        let body = Array(input[2...])
        let context = ResponseContext(responseID: "chatcmpl-fuzz", created: 1, model: "m")
        switch input[1] % 5 {
        case 0: _ = try? dialect.decodeResponse(body, for: Self.request, context: context)
        case 1: Self.stream(body, through: dialect.makeStreamTranslator(for: Self.request, context: context))
        case 2: _ = dialect.decodeError(status: 400 + Int(input[1]) % 200, body: body)
        case 3: _ = try? dialect.decodeEmbeddingsResponse(body, for: Self.embeddingsRequest)
        default:
            guard let request = try? ChatRequest(parsing: body) else { return }
            _ = try? dialect.encodeRequest(request, target: UpstreamTarget(model: "m", maxOutputTokens: 64))
        }
    }

    /// A Messages request to every dialect, and the input as an OpenAI stream to Messages events.
    static func messages(_ input: [UInt8]) {
        if let request = try? MessagesRequest(parsing: input) {
            let target = UpstreamTarget(model: "m", maxOutputTokens: 64)
            _ = AnthropicDialect().encodeMessages(request.body, target: target, version: nil, betas: [], streaming: request.stream)
            for dialect in Self.dialects {
                guard let chat = try? request.chatRequest(for: dialect) else { continue }
                _ = try? dialect.encodeRequest(chat, target: target)
            }
        }
        var parser = SSEParser()
        var encoder = MessagesStreamEncoder(model: "m", id: "msg_fuzz")
        var output: [UInt8] = []
        for event in (try? parser.feed(input)) ?? [] {
            if let chunk = (try? JSONValue.parse(event.data))?.objectValue { encoder.encode(chunk, into: &output) }
        }
        encoder.finish(into: &output)
        var reader = SSEParser()
        let events = (try? reader.feed(output)) ?? []
        precondition(events.last?.event == "message_stop", "the Messages stream did not end with message_stop")
    }

    private static func stream(_ body: [UInt8], through translator: any StreamTranslator) {
        var translator = translator
        var parser = SSEParser()
        do {
            for event in try parser.feed(body) + parser.finish() {
                _ = try translator.translate(event)
            }
            _ = try translator.finish()
        } catch {
            return
        }
    }
}
