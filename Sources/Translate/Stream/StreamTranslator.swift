//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A synchronous state machine that turns one provider's event stream into OpenAI stream items.
///
/// Feed it every ``SSEEvent`` in order, then call ``finish()`` once when the body ends.
public protocol StreamTranslator: Sendable {
    mutating func translate(_ event: SSEEvent) throws(TranslationError) -> [StreamItem]

    /// Called once when the provider's body has ended; returns what the end implies
    /// (``StreamItem/end`` for a stream that completed, or throws for a truncated one).
    mutating func finish() throws(TranslationError) -> [StreamItem]
}

/// What a ``StreamTranslator`` produces.
public enum StreamItem: Sendable {
    /// An OpenAI `chat.completion.chunk`.
    case chunk(StreamChunk)
    /// The provider reported an error inside the stream.
    case failure(UpstreamFailure)
    /// The provider's stream completed normally.
    case end
}

/// An OpenAI `chat.completion.chunk` object.
public struct StreamChunk: Sendable {
    public var object: JSONObject
    /// The provider's exact payload bytes while ``object`` is unchanged, so it can be forwarded as is.
    public var originalBytes: [UInt8]?

    public init(object: JSONObject, originalBytes: [UInt8]? = nil) {
        self.object = object
        self.originalBytes = originalBytes
    }
}
