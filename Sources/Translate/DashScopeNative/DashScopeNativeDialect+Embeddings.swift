//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension DashScopeNativeDialect {
    /// `GET /compatible-mode/v1/models`: the native API has no model list; the same host and key
    /// serve the OpenAI-compatible one.
    public var healthCheckRequest: EncodedRequest {
        EncodedRequest(method: "GET", path: "/compatible-mode/v1/models", headers: [], body: [], isStreaming: false)
    }

    /// `{"model","input":{"texts"},"parameters":{"dimension"}}` to the text-embedding service.
    /// `encoding_format: base64` is applied to the answer here.
    public func encodeEmbeddingsRequest(_ request: EmbeddingsRequest, target: UpstreamTarget) throws(TranslationError) -> EncodedRequest {
        _ = try EmbeddingVectors.format(of: request)
        let texts = try EmbeddingVectors.texts(of: request, provider: "DashScope")
        var parameters = JSONObject()
        if let dimensions = try EmbeddingVectors.dimensions(of: request) { parameters["dimension"] = .int(dimensions) }
        let body: JSONObject = [
            "model": .string(target.model),
            "input": ["texts": .array(texts.map(JSONValue.string))],
            "parameters": .object(parameters),
        ]
        return EncodedRequest(path: Self.embeddingsPath, headers: Self.jsonHeaders(streaming: false), body: body.serialized(), isStreaming: false)
    }

    /// `{"output":{"embeddings":[{"text_index","embedding"}]},"usage":{"total_tokens"}}`, ordered
    /// by `text_index`.
    public func decodeEmbeddingsResponse(_ body: [UInt8], for request: EmbeddingsRequest) throws(TranslationError) -> EmbeddingsResponse {
        let json = try? JSONValue.parse(body)
        guard let embeddings = json?["output"]?["embeddings"]?.arrayValue else {
            throw .malformed("The provider's text-embedding answer has no 'output.embeddings' array.")
        }
        let format = try EmbeddingVectors.format(of: request)
        var entries: [(index: Int, values: [JSONValue])] = []
        for (position, embedding) in embeddings.enumerated() {
            guard let values = embedding["embedding"]?.arrayValue else { throw .malformed("The provider sent an embedding without 'embedding'.") }
            entries.append((embedding["text_index"]?.intValue ?? position, values))
        }
        var data: [JSONValue] = []
        for entry in entries.sorted(by: { $0.index < $1.index }) {
            data.append(try EmbeddingVectors.entry(index: entry.index, values: entry.values, format: format))
        }
        let tokens = json?["usage"]?["total_tokens"]?.tokenCount ?? json?["usage"]?["input_tokens"]?.tokenCount
        return EmbeddingVectors.response(data: data, model: request.model, inputTokens: tokens, request: request)
    }
}
