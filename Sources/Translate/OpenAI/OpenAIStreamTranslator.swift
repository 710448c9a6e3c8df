//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Reads an OpenAI-format event stream: each `data:` event is a `chat.completion.chunk`
/// (forwarded with its original bytes), `data: [DONE]` ends it, and an event carrying an
/// `error` object is a mid-stream provider error.
struct OpenAIStreamTranslator: StreamTranslator {
    private var ended = false
    private var sawFinishReason = false

    mutating func translate(_ event: SSEEvent) throws(TranslationError) -> [StreamItem] {
        if event.isDoneMarker {
            self.ended = true
            return [.end]
        }
        guard let object = (try? JSONValue.parse(event.data))?.objectValue else {
            throw TranslationError(.streamProtocolViolation, "The provider sent a stream event that is not a JSON object.")
        }
        // An error object is a failure whatever else the event holds (`"choices": null` too).
        if let error = object["error"], error.objectValue != nil {
            return [.failure(OpenAICompatibleDialect.failure(fromErrorObject: error, status: nil))]
        }
        if let choices = object["choices"], choices != .null, choices.arrayValue == nil {
            throw TranslationError(.streamProtocolViolation, "The provider sent a stream chunk whose 'choices' is not an array.")
        }
        if !self.sawFinishReason {
            self.sawFinishReason = (object["choices"]?.arrayValue ?? []).contains { $0["finish_reason"]?.stringValue != nil }
        }
        return [.chunk(StreamChunk(object: object, originalBytes: event.data))]
    }

    /// A stream that ends without `[DONE]` still completed if a choice finished; otherwise it was cut off.
    mutating func finish() throws(TranslationError) -> [StreamItem] {
        if self.ended { return [] }
        guard self.sawFinishReason else {
            throw TranslationError(.streamProtocolViolation, "The provider closed the stream before it finished.")
        }
        return [.end]
    }
}
