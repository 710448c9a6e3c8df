//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Translate

/// The recorded provider payloads of the Swift tests (`Tests/TestSupport/Fixtures`), read from the
/// source tree: benchmarks always run from a checkout, and copying them would let the two drift.
enum Fixture {
    static let directory = URL(filePath: #filePath)
        .deletingLastPathComponent()  // TranslateBenchmarks
        .deletingLastPathComponent()  // Benchmarks (targets)
        .deletingLastPathComponent()  // Benchmarks (package)
        .deletingLastPathComponent()  // the repository
        .appending(path: "Tests/TestSupport/Fixtures")

    static func bytes(_ path: String) -> [UInt8] {
        guard let data = try? Data(contentsOf: self.directory.appending(path: path)) else {
            fatalError("missing fixture \(path) under \(self.directory.path)")
        }
        return Array(data)
    }

    static func chatRequest(_ path: String) -> ChatRequest {
        do {
            return try ChatRequest(parsing: self.bytes(path))
        } catch {
            fatalError("fixture \(path) is not a valid chat request: \(error)")
        }
    }
}

/// A long provider stream made from a recorded one, as the separate network reads a token-by-token
/// answer arrives in: the recorded opening events, the recorded content events repeated until
/// the stream has `eventCount` events, then the recorded closing events.
///
/// Long answers are mostly content events, so the cost per event of such a stream is the
/// per-chunk cost of a real one; the fixed per-stream work is spread over `eventCount` events.
struct RecordedStream {
    /// One element per event, with its separator, in the provider's own framing (`\r\n` for Gemini).
    let events: [[UInt8]]

    init(_ path: String, opening: Int, closing: Int, eventCount: Int) {
        let text = String(decoding: Fixture.bytes(path), as: UTF8.self)
        let separator = text.contains("\r\n\r\n") ? "\r\n\r\n" : "\n\n"
        let recorded = text.components(separatedBy: separator).filter { !$0.isEmpty }.map { Array(($0 + separator).utf8) }
        let content = recorded[opening..<(recorded.count - closing)]
        let repeated = (0..<(eventCount - opening - closing)).map { content[content.startIndex + $0 % content.count] }
        self.events = recorded.prefix(opening) + repeated + recorded.suffix(closing)
    }
}

/// Relays one provider stream to the client the way the sidecar's `TranslatingRelay` does: each
/// network read goes through the SSE parser, the dialect's translator and the client's encoder
/// (OpenAI chat chunks unless another is given), and the client bytes are handed off (here:
/// dropped) after every read.
func relay(_ stream: RecordedStream, dialect: some Dialect, request: ChatRequest) throws -> Int {
    try relay(stream, dialect: dialect, request: request, encoder: OpenAIStreamEncoder(includeUsage: request.includeUsage))
}

func relay(_ stream: RecordedStream, dialect: some Dialect, request: ChatRequest, encoder: some ChatStreamEncoder) throws -> Int {
    var parser = SSEParser()
    var translator = dialect.makeStreamTranslator(for: request, context: responseContext)
    var encoder = encoder
    var output: [UInt8] = []
    var written = 0
    func handle(_ items: [StreamItem]) {
        for item in items {
            switch item {
            case .chunk(let chunk): encoder.encode(chunk, into: &output)
            case .end: encoder.markCompleted()
            case .failure(let failure): fatalError("recorded stream failed: \(failure.message)")
            }
        }
    }
    for read in stream.events {
        for event in try parser.feed(read) { handle(try translator.translate(event)) }
        written += output.count
        output.removeAll(keepingCapacity: true)
    }
    for event in parser.finish() { handle(try translator.translate(event)) }
    handle(try translator.finish())
    encoder.finish(usage: encoder.summary.usage, extraUsageFields: [:], into: &output)
    return written + output.count
}

/// The id, time and model a translated answer gets (the sidecar mints fresh ones per request).
let responseContext = ResponseContext(responseID: "chatcmpl-bench", created: 1_700_000_000, model: "upstream-model")
