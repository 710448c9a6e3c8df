//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Writes OpenAI stream items as the SSE bytes an OpenAI client expects, and keeps the
/// running facts (usage, finish reasons, what was delivered) the sidecar bills and logs.
///
/// It normalises usage the way OpenAI streams it, whatever the provider did: chunks with
/// choices never carry usage (DeepSeek puts it on the finish chunk), and the usage-only chunk
/// (`"choices": []`) is held back and written by ``finish(usage:extraUsageFields:into:)`` just
/// before `data: [DONE]` — and only when the client asked for it with `stream_options.include_usage`.
public struct OpenAIStreamEncoder: ChatStreamEncoder {
    public private(set) var summary = StreamSummary()
    private let includeUsage: Bool
    private var created: JSONValue?

    /// - Parameter includeUsage: whether the client asked for the usage chunk.
    public init(includeUsage: Bool) {
        self.includeUsage = includeUsage
    }

    /// Appends the client bytes for `chunk` (possibly none) to `output`.
    public mutating func encode(_ chunk: StreamChunk, into output: inout [UInt8]) {
        var chunk = chunk
        self.summary.observe(chunk.object)
        if self.created == nil { self.created = chunk.object["created"] }
        let choices = chunk.object["choices"]?.arrayValue ?? []
        if let usage = chunk.object["usage"], !usage.isNull {
            guard !choices.isEmpty else { return }  // the usage-only chunk is re-emitted by `finish`
            chunk.object["usage"] = .null
            chunk.originalBytes = nil
        }
        self.summary.chunkCount += 1
        if let bytes = chunk.originalBytes {
            SSEEncoder.appendEvent(bytes, to: &output)
        } else {
            SSEEncoder.appendEvent(chunk.object.serialized(), to: &output)
        }
    }

    /// Records that the provider's stream completed normally.
    public mutating func markCompleted() {
        self.summary.completed = true
    }

    /// Appends the end of the stream: the usage chunk (when the client asked and `usage` is known)
    /// and `data: [DONE]`.
    ///
    /// - Parameters:
    ///   - usage: the usage to report; normally ``StreamSummary/usage``.
    ///   - extraUsageFields: fields added to the usage object (the sidecar's cost).
    public func finish(usage: Usage?, extraUsageFields: JSONObject = [:], into output: inout [UInt8]) {
        if self.includeUsage, let usage {
            var usageObject = usage.openAIJSON
            for member in extraUsageFields {
                usageObject[member.key] = member.value
            }
            let chunk: JSONObject = [
                "id": .optional(self.summary.responseID),
                "object": "chat.completion.chunk",
                "created": self.created ?? 0,
                "model": .optional(self.summary.responseModel),
                "choices": [],
                "usage": .object(usageObject),
            ]
            SSEEncoder.appendEvent(chunk.serialized(), to: &output)
        }
        output.append(contentsOf: SSEEncoder.doneEvent)
    }

    /// Appends an OpenAI error event, which the OpenAI SDKs raise as an `APIError` mid-iteration.
    public static func appendError(_ error: OpenAIErrorBody, to output: inout [UInt8]) {
        SSEEncoder.appendEvent(error.json.serialized(), to: &output)
    }

    public func appendFailure(_ error: OpenAIErrorBody, to output: inout [UInt8]) {
        Self.appendError(error, to: &output)
    }
}
