//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What native dialects share to answer `/v1/embeddings`: the input texts, the requested
/// `encoding_format`, and OpenAI's vector encodings.
enum EmbeddingVectors {
    enum Format {
        case float
        /// Little-endian float32 values, base64-encoded (what the OpenAI SDKs request by default).
        case base64
    }

    /// `encoding_format`: `float` (the default) or `base64`.
    static func format(of request: EmbeddingsRequest) throws(TranslationError) -> Format {
        switch request.body["encoding_format"] {
        case nil, .null?, .string("float")?: return .float
        case .string("base64")?: return .base64
        case let other?:
            throw .invalid("'encoding_format' must be \"float\" or \"base64\", not \(other.jsonString).", param: "encoding_format")
        }
    }

    /// The input strings; token-id arrays cannot be forwarded to providers that take text.
    static func texts(of request: EmbeddingsRequest, provider: String) throws(TranslationError) -> [String] {
        if case .array(let elements)? = request.body["input"] {
            guard !elements.isEmpty else { throw .invalid("'input' must not be empty.", param: "input") }
            if let index = elements.firstIndex(where: { $0.stringValue == nil }) {
                throw TranslationError(.unsupportedFeature, "\(provider) embeds text only; token arrays are not supported.", param: "input[\(index)]")
            }
        }
        return request.texts
    }

    /// `dimensions`, when given.
    static func dimensions(of request: EmbeddingsRequest) throws(TranslationError) -> Int? {
        try FieldReader(object: request.body).optionalInt("dimensions")
    }

    /// One OpenAI `embedding` entry from a provider's vector.
    static func entry(index: Int, values: [JSONValue], format: Format) throws(TranslationError) -> JSONValue {
        let embedding: JSONValue
        switch format {
        case .float:
            guard values.allSatisfy({ $0.doubleValue != nil }) else { throw .malformed("The provider sent an embedding that is not numbers.") }
            embedding = .array(values)
        case .base64:
            var bytes: [UInt8] = []
            bytes.reserveCapacity(values.count * 4)
            for value in values {
                guard let number = value.doubleValue else { throw .malformed("The provider sent an embedding that is not numbers.") }
                let bits = Float(number).bitPattern
                bytes.append(contentsOf: [
                    UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8), UInt8(truncatingIfNeeded: bits >> 16),
                    UInt8(truncatingIfNeeded: bits >> 24),
                ])
            }
            embedding = .string(Self.base64(bytes))
        }
        return ["object": "embedding", "index": .int(index), "embedding": embedding]
    }

    /// The OpenAI answer; `prompt_tokens` is `inputTokens` when the provider counted, else the
    /// sidecar's estimate (and ``EmbeddingsResponse/inputTokens`` stays `nil` so it bills that).
    static func response(data: [JSONValue], model: String, inputTokens: Int?, request: EmbeddingsRequest) -> EmbeddingsResponse {
        let tokens = inputTokens ?? request.estimatedInputTokens
        var response = EmbeddingsResponse(
            openAI: [
                "object": "list",
                "data": .array(data),
                "model": .string(model),
                "usage": ["prompt_tokens": .int(tokens), "total_tokens": .int(tokens)],
            ]
        )
        response.inputTokens = inputTokens
        return response
    }

    /// Standard base64 (RFC 4648 §4) with padding.
    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let group = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output.append(contentsOf: [18, 12, 6, 0].map { alphabet[Int(group >> $0 & 0x3F)] })
            index += 3
        }
        let remaining = bytes.count - index
        if remaining > 0 {
            let group = UInt32(bytes[index]) << 16 | (remaining == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            output.append(alphabet[Int(group >> 18 & 0x3F)])
            output.append(alphabet[Int(group >> 12 & 0x3F)])
            output.append(remaining == 2 ? alphabet[Int(group >> 6 & 0x3F)] : UInt8(ascii: "="))
            output.append(UInt8(ascii: "="))
        }
        return String(decoding: output, as: UTF8.self)
    }
}
