//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Alibaba DashScope's native API (Model Studio, Qwen): text generation at
/// `/api/v1/services/aigc/text-generation/generation` and text embeddings at
/// `/api/v1/services/embeddings/text-embedding/text-embedding`.
///
/// Requests become `{"model","input":{"messages"},"parameters"}` with OpenAI-layout messages and
/// tools, `result_format: "message"`, and `incremental_output: true` on streams. Answers are
/// rebuilt with ``ChatCompletionBuilder``. Streams are SSE without `[DONE]`: the event whose
/// `finish_reason` is not the string `"null"` ends them.
public struct DashScopeNativeDialect: Dialect {
    /// The Beijing region's address; configure it (or ``internationalBaseURL``) as `base_url`.
    public static let defaultBaseURL = "https://dashscope.aliyuncs.com"
    /// The Singapore region's address (keys are region-specific).
    public static let internationalBaseURL = "https://dashscope-intl.aliyuncs.com"

    static let generationPath = "/api/v1/services/aigc/text-generation/generation"
    static let embeddingsPath = "/api/v1/services/embeddings/text-embedding/text-embedding"

    public init() {}

    public func authenticationHeaders(apiKey: String) -> [HTTPHeader] {
        [HTTPHeader("Authorization", "Bearer \(apiKey)")]
    }

    public func encodeRequest(_ request: ChatRequest, target: UpstreamTarget) throws(TranslationError) -> EncodedRequest {
        let body = try DashScopeNativeRequestEncoder(request: request, target: target).body()
        var headers = Self.jsonHeaders(streaming: request.stream)
        if request.stream { headers.append(HTTPHeader("X-DashScope-SSE", "enable")) }
        return EncodedRequest(path: Self.generationPath, headers: headers, body: body.serialized(), isStreaming: request.stream)
    }

    public func decodeResponse(_ body: [UInt8], for request: ChatRequest, context: ResponseContext) throws(TranslationError) -> ChatResponse {
        guard let object = (try? JSONValue.parse(body))?.objectValue else {
            throw .malformed("The provider's generation answer is not a JSON object.")
        }
        return try DashScopeNativeResponseDecoder(context: context, model: context.model).completion(from: object)
    }

    public func makeStreamTranslator(for request: ChatRequest, context: ResponseContext) -> any StreamTranslator {
        DashScopeNativeStreamTranslator(decoder: DashScopeNativeResponseDecoder(context: context, model: context.model))
    }

    static func jsonHeaders(streaming: Bool) -> [HTTPHeader] {
        [
            HTTPHeader("Content-Type", "application/json"),
            HTTPHeader("Accept", streaming ? "text/event-stream" : "application/json"),
        ]
    }
}
