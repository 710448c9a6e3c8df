//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension GeminiDialect {
    /// `GET /v1beta/models`.
    public var healthCheckRequest: EncodedRequest {
        EncodedRequest(method: "GET", path: "/\(self.apiVersion)/models", headers: [], body: [], isStreaming: false)
    }

    /// `:batchEmbedContents`, one request per input string; `dimensions` becomes
    /// `outputDimensionality`. `encoding_format: base64` is applied to the answer here.
    public func encodeEmbeddingsRequest(_ request: EmbeddingsRequest, target: UpstreamTarget) throws(TranslationError) -> EncodedRequest {
        _ = try EmbeddingVectors.format(of: request)
        let texts = try EmbeddingVectors.texts(of: request, provider: "Gemini")
        let dimensions = try EmbeddingVectors.dimensions(of: request)
        let model = JSONValue.string(Self.resourceName(target.model))
        let requests: [JSONValue] = texts.map { text in
            var entry: JSONObject = ["model": model, "content": ["parts": [["text": .string(text)]]]]
            if let dimensions { entry["outputDimensionality"] = .int(dimensions) }
            return .object(entry)
        }
        let body: JSONObject = ["requests": .array(requests)]
        return EncodedRequest(
            path: self.modelPath(target.model, method: "batchEmbedContents"),
            headers: Self.jsonHeaders(streaming: false),
            body: body.serialized(),
            isStreaming: false
        )
    }

    /// `{"embeddings":[{"values":[…]}]}` in input order. Gemini reports no token count, so
    /// ``EmbeddingsResponse/inputTokens`` is `nil` and the sidecar estimates.
    public func decodeEmbeddingsResponse(_ body: [UInt8], for request: EmbeddingsRequest) throws(TranslationError) -> EmbeddingsResponse {
        guard let embeddings = (try? JSONValue.parse(body))?["embeddings"]?.arrayValue else {
            throw .malformed("The provider's batchEmbedContents answer has no 'embeddings' array.")
        }
        let format = try EmbeddingVectors.format(of: request)
        var data: [JSONValue] = []
        for (index, embedding) in embeddings.enumerated() {
            guard let values = embedding["values"]?.arrayValue else { throw .malformed("The provider sent an embedding without 'values'.") }
            data.append(try EmbeddingVectors.entry(index: index, values: values, format: format))
        }
        return EmbeddingVectors.response(data: data, model: request.model, inputTokens: nil, request: request)
    }
}
