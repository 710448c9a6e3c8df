//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import Logging
import SidecarModel
import Translate

/// The built-in `demo` model: an in-process provider that speaks the OpenAI wire format, so
/// the sidecar works offline with no keys and every request still takes the real path —
/// dialect, stream translation, usage line and all.
///
/// It answers chat requests by echoing the last user message, word by word when streaming
/// (``wordDelay`` apart), with usage from the sidecar's own estimator — `n` identical choices
/// (1 to ``maximumChoices``, 8; beyond, a 400 naming `n`, as OpenAI answers) —, and embeddings
/// requests with deterministic unit vectors derived from the text.
struct DemoUpstreamClient: UpstreamClient {
    static let modelDescription = "Built-in demo model: answers offline by echoing your message. Not a real LLM."
    /// The most choices (`n`) the demo model answers with (8).
    static let maximumChoices = 8

    var wordDelay: Duration

    func execute(_ request: UpstreamRequest, logger: Logger) async throws(ProxyError) -> UpstreamResponse {
        guard let body = (try? JSONValue.parse(request.body))?.objectValue else {
            return Self.error(status: 400, message: "The demo model received a body that is not a JSON object.")
        }
        if request.url.hasSuffix("/embeddings") {
            return Self.json(Self.embeddings(for: body))
        }
        guard let chat = try? ChatRequest(object: body) else {
            return Self.error(status: 400, message: "The demo model received an invalid chat request.")
        }
        let n = JSONValue.object(body)["n"] ?? .null
        guard n == .null || (n.intValue.map { (1...Self.maximumChoices).contains($0) } ?? false) else {
            return Self.error(status: 400, message: "'n' must be an integer from 1 to \(Self.maximumChoices) for the demo model.", param: "n")
        }
        let completion = DemoCompletion(request: chat, choices: n.intValue ?? 1)
        guard chat.stream else { return Self.json(completion.response) }
        let events = completion.streamEvents(includeUsage: JSONValue.object(body)["stream_options"]?["include_usage"]?.boolValue ?? false)
        let head = UpstreamResponseHead(status: 200, headers: [HTTPHeader("Content-Type", "text/event-stream")])
        return UpstreamResponse(head: head, body: UpstreamBody(PreparedBody(pieces: events, delay: self.wordDelay)))
    }

    private static func json(_ object: JSONObject) -> UpstreamResponse {
        let head = UpstreamResponseHead(status: 200, headers: [HTTPHeader("Content-Type", "application/json")])
        return UpstreamResponse(head: head, body: UpstreamBody(PreparedBody(pieces: [object.serialized()], delay: .zero)))
    }

    private static func error(status: Int, message: String, param: String? = nil) -> UpstreamResponse {
        let body = OpenAIErrorBody(message: message, type: "invalid_request_error", param: param).json.serialized()
        let head = UpstreamResponseHead(status: status, headers: [HTTPHeader("Content-Type", "application/json")])
        return UpstreamResponse(head: head, body: UpstreamBody(PreparedBody(pieces: [body], delay: .zero)))
    }

    /// Deterministic unit vectors (default 8 dimensions) seeded by each input text.
    static func embeddings(for body: JSONObject) -> JSONObject {
        let json = JSONValue.object(body)
        let texts: [String] = json["input"]?.stringValue.map { [$0] } ?? json["input"]?.arrayValue?.map { $0.stringValue ?? $0.jsonString } ?? []
        let dimensions = max(1, min(json["dimensions"]?.intValue ?? 8, 4096))
        let base64 = json["encoding_format"]?.stringValue == "base64"
        var tally = TextTally()
        let data: [JSONValue] = texts.enumerated().map { index, text in
            tally.add(text)
            let vector = Self.unitVector(seed: text, dimensions: dimensions)
            let embedding: JSONValue =
                base64
                ? .string(Data(vector.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }).base64EncodedString())
                : .array(vector.map { .number(JSONNumber(Double($0))) })
            return ["object": "embedding", "index": .int(index), "embedding": embedding]
        }
        return [
            "object": "list", "data": .array(data), "model": json["model"] ?? "demo",
            "usage": ["prompt_tokens": .int(tally.estimatedTokens), "total_tokens": .int(tally.estimatedTokens)],
        ]
    }

    private static func unitVector(seed: String, dimensions: Int) -> [Float] {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in seed.utf8 { state = (state ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let raw = (0..<dimensions).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2000 - 1000) / 1000
        }
        let norm = max(raw.reduce(0) { $0 + $1 * $1 }.squareRoot(), .leastNonzeroMagnitude)
        return raw.map { $0 / norm }
    }
}
