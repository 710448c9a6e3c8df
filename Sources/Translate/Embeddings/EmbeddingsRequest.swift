//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A client's `/v1/embeddings` request: the body as sent plus the fields the sidecar needs.
public struct EmbeddingsRequest: Sendable {
    public var body: JSONObject
    public var model: String
    /// The texts to embed (`input` as a string or an array of strings); empty for token-array input.
    public var texts: [String]

    public init(parsing bytes: some Collection<UInt8>) throws(TranslationError) {
        let object = try JSONObject(requestBody: bytes)
        let reader = FieldReader(object: object)
        self.body = object
        self.model = try reader.requiredString("model")
        switch reader.optionalValue("input") {
        case .string(let text)?:
            self.texts = [text]
        case .array(let elements)?:
            self.texts = elements.compactMap(\.stringValue)
        case nil:
            throw .invalid("'input' is required.", param: "input")
        case let other?:
            throw .invalid("'input' must be a string or an array, not \(other.typeName).", param: "input")
        }
    }

    /// The estimated token count of all inputs (see ``TextTally``).
    public var estimatedInputTokens: Int {
        var tally = TextTally()
        for text in self.texts { tally.add(text) }
        return tally.estimatedTokens
    }
}

/// An OpenAI embeddings answer (`{"object":"list","data":[...],"model","usage"}`).
public struct EmbeddingsResponse: Sendable {
    public var body: JSONObject
    public var originalBytes: [UInt8]?
    public var inputTokens: Int?

    public init(openAI body: JSONObject, originalBytes: [UInt8]? = nil) {
        self.body = body
        self.originalBytes = originalBytes
        self.inputTokens = JSONValue.object(body)["usage"]?["prompt_tokens"]?.tokenCount
    }

    public func serialized() -> [UInt8] {
        self.originalBytes ?? self.body.serialized()
    }
}
