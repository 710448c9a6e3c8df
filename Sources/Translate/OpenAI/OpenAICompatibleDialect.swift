//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The OpenAI Chat Completions wire format, spoken by OpenAI, DeepSeek, DashScope's compatible
/// mode and self-hosted servers (vLLM, Ollama, …), whose differences are data in ``Quirks``.
///
/// The client's body is forwarded as sent apart from what a quirk must change, the upstream
/// model name, and `stream_options.include_usage`, which is always requested on streams so the
/// sidecar can bill them (the usage chunk is dropped again for clients that did not ask for it).
public struct OpenAICompatibleDialect: Dialect {
    public var quirks: Quirks

    public init(quirks: Quirks) {
        self.quirks = quirks
    }

    public func authenticationHeaders(apiKey: String) -> [HTTPHeader] {
        [HTTPHeader("Authorization", "Bearer \(apiKey)")]
    }

    public func encodeRequest(_ request: ChatRequest, target: UpstreamTarget) throws(TranslationError) -> EncodedRequest {
        var body = request.body
        body["model"] = .string(target.model)
        if request.stream, self.quirks.acceptsStreamOptions {
            var options = body["stream_options"]?.objectValue ?? [:]
            options["include_usage"] = true
            body["stream_options"] = .object(options)
        }
        self.quirks.apply(to: &body)
        return EncodedRequest(
            path: "/chat/completions",
            headers: Self.jsonHeaders(streaming: request.stream),
            body: body.serialized(),
            isStreaming: request.stream
        )
    }

    public func decodeResponse(_ body: [UInt8], for request: ChatRequest, context: ResponseContext) throws(TranslationError) -> ChatResponse {
        let object = try Self.parseObject(body, what: "chat completion")
        try Self.requireList("choices", in: object, what: "chat completion")
        return ChatResponse(openAI: object, originalBytes: body)
    }

    public func makeStreamTranslator(for request: ChatRequest, context: ResponseContext) -> any StreamTranslator {
        OpenAIStreamTranslator()
    }

    public var chatExtensions: ChatExtensions { self.quirks.chatExtensions }

    public func encodeEmbeddingsRequest(_ request: EmbeddingsRequest, target: UpstreamTarget) throws(TranslationError) -> EncodedRequest {
        var body = request.body
        body["model"] = .string(target.model)
        return EncodedRequest(path: "/embeddings", headers: Self.jsonHeaders(streaming: false), body: body.serialized(), isStreaming: false)
    }

    /// `GET /models`.
    public var healthCheckRequest: EncodedRequest {
        EncodedRequest(method: "GET", path: "/models", headers: [], body: [], isStreaming: false)
    }

    public func decodeEmbeddingsResponse(_ body: [UInt8], for request: EmbeddingsRequest) throws(TranslationError) -> EmbeddingsResponse {
        let object = try Self.parseObject(body, what: "embeddings answer")
        try Self.requireList("data", in: object, what: "embeddings answer")
        return EmbeddingsResponse(openAI: object, originalBytes: body)
    }

    /// A successful answer must hold a non-empty array of objects under `field` (`choices`,
    /// `data`): `null`, a missing field, another type or `[]` — or an error object in a 200
    /// answer — is a malformed answer (502), never passed on as a success.
    static func requireList(_ field: String, in object: JSONObject, what: String) throws(TranslationError) {
        if let error = object["error"], error.objectValue != nil {
            let message = error["message"]?.stringValue.map { ": " + String($0.prefix(200)) } ?? "."
            throw .malformed("The provider answered HTTP 200 with an error instead of a \(what)\(message)")
        }
        guard let items = object[field]?.arrayValue, !items.isEmpty, items.allSatisfy({ $0.objectValue != nil }) else {
            throw .malformed("The provider's \(what) has no '\(field)' list (null, missing, empty or not an array of objects).")
        }
    }

    static func jsonHeaders(streaming: Bool) -> [HTTPHeader] {
        [
            HTTPHeader("Content-Type", "application/json"),
            HTTPHeader("Accept", streaming ? "text/event-stream" : "application/json"),
        ]
    }

    static func parseObject(_ body: [UInt8], what: String) throws(TranslationError) -> JSONObject {
        guard let object = (try? JSONValue.parse(body))?.objectValue else {
            throw .malformed("The provider's \(what) is not a JSON object.")
        }
        return object
    }
}
