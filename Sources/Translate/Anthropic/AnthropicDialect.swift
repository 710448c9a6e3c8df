//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Anthropic's Messages API (`POST /v1/messages`), translated to and from OpenAI Chat Completions.
///
/// Requests are rebuilt from the typed ``ChatRequest`` (see ``AnthropicRequestEncoder`` for the
/// field-by-field rules); answers and event streams are rebuilt as OpenAI `chat.completion`
/// objects and chunks with ``ChatCompletionBuilder``. Anthropic sends no `created`, so it comes
/// from the ``ResponseContext``; ids, model names and tool-call ids are Anthropic's own.
///
/// Three things have no Anthropic field and are carried in other ways:
/// - `response_format` (`json_schema`, `json_object`) becomes a forced tool whose input is the
///   answer; that tool call is turned back into the message *content* (see ``AnthropicJSONAnswer``).
/// - `reasoning_effort` becomes a `thinking` budget (``thinkingBudgets``); thinking comes back as
///   `reasoning_content`.
/// - The client's choice count, log probabilities and audio cannot be expressed, so asking for
///   them is a client error rather than a silently different answer.
public struct AnthropicDialect: Dialect {
    /// The `anthropic-version` every request carries unless configured otherwise.
    public static let defaultVersion = "2023-06-01"

    /// The thinking budget (`thinking.budget_tokens`) for each OpenAI `reasoning_effort`.
    /// `none` turns thinking off. Anthropic's minimum budget is ``minimumThinkingBudget``.
    public static let thinkingBudgets: [String: Int] = [
        "minimal": 1024,
        "low": 2048,
        "medium": 4096,
        "high": 16_384,
        "xhigh": 32_768,
    ]

    /// The smallest `budget_tokens` Anthropic accepts.
    public static let minimumThinkingBudget = 1024

    /// The `anthropic-version` header.
    public var version: String
    /// The `max_tokens` sent when neither the request nor the model configuration sets a limit
    /// (Anthropic requires one). With thinking on, the thinking budget is added to it.
    public var defaultMaxTokens: Int
    /// Beta flags sent as `anthropic-beta` (comma-separated); none when empty.
    public var betas: [String]

    public init(version: String = AnthropicDialect.defaultVersion, defaultMaxTokens: Int = 4096, betas: [String] = []) {
        self.version = version
        self.defaultMaxTokens = defaultMaxTokens
        self.betas = betas
    }

    public func authenticationHeaders(apiKey: String) -> [HTTPHeader] {
        [HTTPHeader("x-api-key", apiKey)]
    }

    public func encodeRequest(_ request: ChatRequest, target: UpstreamTarget) throws(TranslationError) -> EncodedRequest {
        let body = try AnthropicRequestEncoder(dialect: self, request: request, target: target).body()
        return EncodedRequest(
            path: "/v1/messages",
            headers: self.headers(streaming: request.stream),
            body: body.serialized(),
            isStreaming: request.stream
        )
    }

    public func decodeResponse(_ body: [UInt8], for request: ChatRequest, context: ResponseContext) throws(TranslationError) -> ChatResponse {
        try AnthropicResponseDecoder(request: request, context: context).decode(body)
    }

    public func makeStreamTranslator(for request: ChatRequest, context: ResponseContext) -> any StreamTranslator {
        AnthropicStreamTranslator(request: request, context: context)
    }

    /// Anthropic has no embeddings API.
    public func encodeEmbeddingsRequest(_ request: EmbeddingsRequest, target: UpstreamTarget) throws(TranslationError) -> EncodedRequest {
        throw Self.noEmbeddings
    }

    /// `GET /v1/models`.
    public var healthCheckRequest: EncodedRequest {
        EncodedRequest(method: "GET", path: "/v1/models", headers: self.headers(streaming: false), body: [], isStreaming: false)
    }

    /// Anthropic has no embeddings API.
    public func decodeEmbeddingsResponse(_ body: [UInt8], for request: EmbeddingsRequest) throws(TranslationError) -> EmbeddingsResponse {
        throw Self.noEmbeddings
    }

    /// The request headers apart from the key: JSON in, JSON or an event stream out, the API
    /// version and the beta flags.
    func headers(streaming: Bool) -> [HTTPHeader] {
        var headers = [
            HTTPHeader("Content-Type", "application/json"),
            HTTPHeader("Accept", streaming ? "text/event-stream" : "application/json"),
            HTTPHeader("anthropic-version", self.version),
        ]
        if !self.betas.isEmpty {
            headers.append(HTTPHeader("anthropic-beta", self.betas.joined(separator: ",")))
        }
        return headers
    }

    private static let noEmbeddings = TranslationError(
        .unsupportedFeature,
        "Anthropic has no embeddings API; route this model's embeddings to another provider.",
        param: "model"
    )
}
