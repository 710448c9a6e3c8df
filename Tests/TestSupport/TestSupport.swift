//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing
public import Translate

/// Loads recorded provider payloads from `Fixtures/` (copied from the shared protocol reference).
public enum Fixture {
    public static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: try self.url(path)))
    }

    /// Where the fixture is on disk, for code that reads files itself.
    public static func path(_ path: String) throws -> String {
        try self.url(path).path
    }

    private static func url(_ path: String) throws -> URL {
        try #require(Bundle.module.url(forResource: "Fixtures/\(path)", withExtension: nil), "missing fixture \(path)")
    }

    public static func json(_ path: String) throws -> JSONValue {
        try JSONValue.parse(try self.bytes(path))
    }

    public static func object(_ path: String) throws -> JSONObject {
        try #require(try self.json(path).objectValue)
    }
}

/// The chunk sizes every stream fixture is fed at: byte by byte up to the whole stream at once.
public let streamChunkSizes = [1, 2, 7, 64, Int.max]

extension Array {
    /// The array cut into pieces of `size` elements (the last may be shorter).
    public func pieces(of size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: self.count, by: Swift.max(1, Swift.min(size, self.count))).map {
            self[$0..<Swift.min($0 + size, self.count)]
        }
    }
}

/// What an OpenAI client would see from a stream: the SSE events the sidecar writes, and the
/// message they add up to.
public struct ClientStream {
    public var events: [SSEEvent] = []
    public var chunks: [JSONValue] = []
    public var content = ""
    public var reasoning = ""
    public var toolCalls: [Int: (id: String?, name: String?, arguments: String)] = [:]
    public var finishReasons: [String] = []
    public var usage: JSONValue?
    public var errors: [JSONValue] = []
    public var endedWithDone = false

    public init(bytes: [UInt8]) throws {
        var parser = SSEParser()
        self.events = try parser.feed(bytes) + parser.finish()
        for event in self.events {
            if event.isDoneMarker {
                self.endedWithDone = true
                continue
            }
            let chunk = try JSONValue.parse(event.data)
            if let error = chunk["error"] {
                self.errors.append(error)
                continue
            }
            self.chunks.append(chunk)
            if let usage = chunk["usage"], !usage.isNull { self.usage = usage }
            for choice in chunk["choices"]?.arrayValue ?? [] { self.add(choice) }
        }
    }

    private mutating func add(_ choice: JSONValue) {
        if let reason = choice["finish_reason"]?.stringValue { self.finishReasons.append(reason) }
        let delta = choice["delta"]
        self.content += delta?["content"]?.stringValue ?? ""
        self.reasoning += delta?["reasoning_content"]?.stringValue ?? ""
        for call in delta?["tool_calls"]?.arrayValue ?? [] {
            let index = call["index"]?.intValue ?? 0
            var entry = self.toolCalls[index] ?? (nil, nil, "")
            entry.id = entry.id ?? call["id"]?.stringValue
            entry.name = entry.name ?? call["function"]?["name"]?.stringValue
            entry.arguments += call["function"]?["arguments"]?.stringValue ?? ""
            self.toolCalls[index] = entry
        }
    }
}

/// Feeds a provider stream through parser → translator → encoder in pieces of `chunkSize`
/// bytes, as the sidecar does, and returns the client bytes and the encoder's summary.
public func translateStream(
    _ bytes: [UInt8],
    dialect: any Dialect,
    request: ChatRequest,
    chunkSize: Int
) throws -> (output: [UInt8], summary: StreamSummary) {
    var parser = SSEParser()
    var translator = dialect.makeStreamTranslator(for: request, context: testResponseContext)
    var encoder = OpenAIStreamEncoder(includeUsage: request.includeUsage)
    var output: [UInt8] = []
    func handle(_ items: [StreamItem]) {
        for item in items {
            switch item {
            case .chunk(let chunk): encoder.encode(chunk, into: &output)
            case .end: encoder.markCompleted()
            case .failure(let failure):
                OpenAIStreamEncoder.appendError(OpenAIErrorBody(message: failure.message, type: failure.type ?? "error"), to: &output)
            }
        }
    }
    for piece in bytes.pieces(of: chunkSize) {
        for event in try parser.feed(piece) { handle(try translator.translate(event)) }
    }
    for event in parser.finish() { handle(try translator.translate(event)) }
    handle(try translator.finish())
    if encoder.summary.completed { encoder.finish(usage: encoder.summary.usage, into: &output) }
    return (output, encoder.summary)
}

/// The id and time translated answers get in tests.
public let testResponseContext = ResponseContext(responseID: "chatcmpl-test", created: 1_700_000_000, model: "upstream-model")

/// A minimal valid chat request for tests.
public func chatRequest(_ json: String) throws -> ChatRequest {
    try ChatRequest(parsing: Array(json.utf8))
}
