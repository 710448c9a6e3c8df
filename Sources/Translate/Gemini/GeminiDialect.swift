//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Google's Gemini API (`generativelanguage.googleapis.com`): `generateContent`,
/// `streamGenerateContent?alt=sse` and `batchEmbedContents`.
///
/// Requests are rebuilt from the typed ``ChatRequest``: system messages become
/// `systemInstruction`, turns become `contents` with `user`/`model` roles, tools become
/// `functionDeclarations` whose JSON Schemas are converted to Gemini's OpenAPI subset (see
/// ``GeminiSchema``). Answers are rebuilt with ``ChatCompletionBuilder``. Gemini sends no
/// function-call ids, so tool-call ids are minted from ``ResponseContext/responseID``, the same
/// way for streamed and complete answers.
///
/// Thought signatures (which Gemini 3 requires back on the function calls of the current turn)
/// travel through OpenAI clients the way Google's own OpenAI-compatible endpoint sends them:
/// `tool_calls[].extra_content.google.thought_signature`.
public struct GeminiDialect: Dialect {
    /// The API's documented address; configure it as the provider's `base_url`.
    public static let defaultBaseURL = "https://generativelanguage.googleapis.com"
    /// The value Google documents for function calls that carry no real thought signature
    /// (replayed from another model or edited by the client); it skips Gemini 3's validation.
    public static let skipThoughtSignatureValidator = "skip_thought_signature_validator"

    /// The path's API version (`v1beta`; `v1` lacks tools, system instructions and thinking).
    public var apiVersion: String
    /// The `thoughtSignature` sent on the first function call of an assistant message whose
    /// tool calls carry none; `nil` sends none.
    public var unsignedFunctionCallSignature: String?

    public init(apiVersion: String = "v1beta", unsignedFunctionCallSignature: String? = GeminiDialect.skipThoughtSignatureValidator) {
        self.apiVersion = apiVersion
        self.unsignedFunctionCallSignature = unsignedFunctionCallSignature
    }

    public func authenticationHeaders(apiKey: String) -> [HTTPHeader] {
        [HTTPHeader("x-goog-api-key", apiKey)]
    }

    public func encodeRequest(_ request: ChatRequest, target: UpstreamTarget) throws(TranslationError) -> EncodedRequest {
        let body = try GeminiRequestEncoder(request: request, target: target, dialect: self).body()
        let method = request.stream ? "streamGenerateContent?alt=sse" : "generateContent"
        return EncodedRequest(
            path: self.modelPath(target.model, method: method),
            headers: Self.jsonHeaders(streaming: request.stream),
            body: body.serialized(),
            isStreaming: request.stream
        )
    }

    public func decodeResponse(_ body: [UInt8], for request: ChatRequest, context: ResponseContext) throws(TranslationError) -> ChatResponse {
        guard let object = (try? JSONValue.parse(body))?.objectValue else {
            throw .malformed("The provider's generateContent answer is not a JSON object.")
        }
        return try GeminiResponseDecoder(context: context, fallbackModel: context.model).completion(from: object)
    }

    public func makeStreamTranslator(for request: ChatRequest, context: ResponseContext) -> any StreamTranslator {
        GeminiStreamTranslator(context: context, fallbackModel: context.model)
    }

    /// `/{version}/models/{model}:{method}`; a model given as `models/…` or `tunedModels/…` keeps
    /// its collection, and the id is percent-encoded so it cannot change the path.
    func modelPath(_ model: String, method: String) -> String {
        var collection = "models"
        var id = Substring(model)
        for prefix in ["models/", "tunedModels/"] where model.hasPrefix(prefix) {
            collection = String(prefix.dropLast())
            id = model.dropFirst(prefix.count)
        }
        return "/\(self.apiVersion)/\(collection)/\(Self.percentEncoded(id)):\(method)"
    }

    /// The resource name Gemini uses inside bodies (`models/gemini-embedding-001`).
    static func resourceName(_ model: String) -> String {
        model.hasPrefix("models/") || model.hasPrefix("tunedModels/") ? model : "models/\(model)"
    }

    static func percentEncoded(_ text: Substring) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.append(byte)
            default:
                output.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func jsonHeaders(streaming: Bool) -> [HTTPHeader] {
        [
            HTTPHeader("Content-Type", "application/json"),
            HTTPHeader("Accept", streaming ? "text/event-stream" : "application/json"),
        ]
    }

    /// The minted id of the `ordinal`-th function call (from 0) of candidate `candidate`:
    /// `call_<response id without "chatcmpl-">_<ordinal>`, with the candidate index inserted for
    /// candidates after the first. Streams and complete answers mint the same ids.
    static func toolCallID(context: ResponseContext, candidate: Int, ordinal: Int) -> String {
        let suffix = context.responseID.hasPrefix("chatcmpl-") ? String(context.responseID.dropFirst("chatcmpl-".count)) : context.responseID
        return candidate == 0 ? "call_\(suffix)_\(ordinal)" : "call_\(suffix)_\(candidate)_\(ordinal)"
    }
}
