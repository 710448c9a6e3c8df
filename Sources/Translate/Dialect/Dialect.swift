//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One provider wire format: how to turn an OpenAI request into the provider's and its answers
/// back into OpenAI's. Implementations are pure values: no I/O, clocks or logging.
public protocol Dialect: Sendable {
    /// The headers that carry `apiKey` (e.g. `Authorization: Bearer …`, `x-api-key: …`).
    func authenticationHeaders(apiKey: String) -> [HTTPHeader]

    /// The provider request for `request`, addressed to `target`.
    /// - Throws: a client error when the request uses something this provider cannot express.
    func encodeRequest(_ request: ChatRequest, target: UpstreamTarget) throws(TranslationError) -> EncodedRequest

    /// The OpenAI `chat.completion` for a successful non-streaming provider answer.
    func decodeResponse(_ body: [UInt8], for request: ChatRequest, context: ResponseContext) throws(TranslationError) -> ChatResponse

    /// A fresh state machine translating one provider event stream.
    func makeStreamTranslator(for request: ChatRequest, context: ResponseContext) -> any StreamTranslator

    /// Classifies an error answer (any status ≥ 400).
    func decodeError(status: Int, body: [UInt8]) -> UpstreamFailure

    /// The provider request for an OpenAI `/v1/embeddings` body.
    /// - Throws: ``TranslationError/Code/unsupportedFeature`` when the provider has no embeddings API.
    func encodeEmbeddingsRequest(_ request: EmbeddingsRequest, target: UpstreamTarget) throws(TranslationError) -> EncodedRequest

    /// The OpenAI embeddings answer for a successful provider answer.
    func decodeEmbeddingsResponse(_ body: [UInt8], for request: EmbeddingsRequest) throws(TranslationError) -> EmbeddingsResponse

    /// A cheap authenticated request — the provider's model list — for active health checks.
    var healthCheckRequest: EncodedRequest { get }

    /// How the provider takes the Messages controls Chat Completions has no field for
    /// (`thinking`, `top_k`); by default `reasoning_effort` and `top_k`.
    var chatExtensions: ChatExtensions { get }
}

extension Dialect {
    public var chatExtensions: ChatExtensions { ChatExtensions(thinking: .reasoningEffort, topK: true) }
}

/// Where a request goes: the provider's model name and what the configuration knows about it.
public struct UpstreamTarget: Sendable, Hashable {
    /// The provider's name for the model.
    public var model: String
    /// The model's output limit; providers that require a limit (Anthropic) get it when the
    /// client sets none.
    public var maxOutputTokens: Int?

    public init(model: String, maxOutputTokens: Int? = nil) {
        self.model = model
        self.maxOutputTokens = maxOutputTokens
    }
}

/// What translating an answer needs from outside pure code: an id and a time.
///
/// Dialects whose providers send no response id or timestamp (Anthropic sends no `created`,
/// Gemini no call ids) use these, so translation stays deterministic and testable.
public struct ResponseContext: Sendable, Hashable {
    /// The response id to use when the provider sends none (`chatcmpl-…`).
    public var responseID: String
    /// Unix seconds, for `created`.
    public var created: Int
    /// The provider's model name, reported when the provider's answer names none.
    public var model: String

    public init(responseID: String, created: Int, model: String) {
        self.responseID = responseID
        self.created = created
        self.model = model
    }
}

/// An HTTP header field as a name and a value.
public struct HTTPHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A provider request produced by a ``Dialect``, before the sidecar adds the base URL and key.
public struct EncodedRequest: Sendable {
    public var method: String
    /// Appended to the provider's `base_url`, query string included (`/chat/completions`).
    public var path: String
    public var headers: [HTTPHeader]
    public var body: [UInt8]
    /// Whether the answer is expected as `text/event-stream`.
    public var isStreaming: Bool

    public init(method: String = "POST", path: String, headers: [HTTPHeader], body: [UInt8], isStreaming: Bool) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.isStreaming = isStreaming
    }
}
