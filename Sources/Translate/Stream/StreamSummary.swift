//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What a stream of OpenAI `chat.completion.chunk`s has carried so far: the facts the sidecar
/// bills and logs, whatever format the client receives them in.
public struct StreamSummary: Sendable {
    /// The last usage the provider reported (providers report cumulative totals).
    public var usage: Usage?
    public var finishReasons: [String] = []
    public var responseID: String?
    public var responseModel: String?
    /// Text delivered to the client (content, reasoning and tool-call arguments), for estimates.
    public var deliveredText = TextTally()
    /// Chunks written to the client.
    public var chunkCount = 0
    /// Whether the provider signalled a normal end.
    public var completed = false

    public init() {}

    /// Takes in the facts of one chunk.
    public mutating func observe(_ object: JSONObject) {
        if self.responseID == nil { self.responseID = object["id"]?.stringValue }
        if self.responseModel == nil { self.responseModel = object["model"]?.stringValue }
        if let usage = Usage(openAI: object["usage"]) { self.usage = usage }
        for choice in object["choices"]?.arrayValue ?? [] {
            if let reason = choice["finish_reason"]?.stringValue { self.finishReasons.append(reason) }
            guard let delta = choice["delta"] else { continue }
            if let text = delta["content"]?.stringValue { self.deliveredText.add(text) }
            if let text = delta["reasoning_content"]?.stringValue { self.deliveredText.add(text) }
            for call in delta["tool_calls"]?.arrayValue ?? [] {
                if let name = call["function"]?["name"]?.stringValue { self.deliveredText.add(name) }
                if let arguments = call["function"]?["arguments"]?.stringValue { self.deliveredText.add(arguments) }
            }
        }
    }
}

/// Writes a stream of OpenAI `chat.completion.chunk`s in a client's streaming format (OpenAI
/// chat chunks, Responses events, …), keeping the ``StreamSummary``.
public protocol ChatStreamEncoder: Sendable {
    var summary: StreamSummary { get }
    /// Appends the client bytes for `chunk` (possibly none) to `output`.
    mutating func encode(_ chunk: StreamChunk, into output: inout [UInt8])
    /// Records that the provider's stream completed normally.
    mutating func markCompleted()
    /// Appends the end of a complete stream, reporting `usage` with `extraUsageFields` (the
    /// sidecar's cost).
    mutating func finish(usage: Usage?, extraUsageFields: JSONObject, into output: inout [UInt8])
    /// Appends what tells the client the stream broke with `error`.
    func appendFailure(_ error: OpenAIErrorBody, to output: inout [UInt8])
}
