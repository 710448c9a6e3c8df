//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// OpenAI `/v1/embeddings` ↔ Gemini `batchEmbedContents`.
@Suite struct GeminiEmbeddingsTests {
    let gemini = GeminiDialect()
    let target = UpstreamTarget(model: "gemini-embedding-001")

    func request(_ json: String) throws -> EmbeddingsRequest {
        try EmbeddingsRequest(parsing: Array(json.utf8))
    }

    @Test func recordedOpenAIRequestBecomesOneEmbedRequestPerText() throws {
        let request = try EmbeddingsRequest(parsing: try Fixture.bytes("openai/embeddings_request.json"))
        let encoded = try self.gemini.encodeEmbeddingsRequest(request, target: self.target)
        #expect(encoded.path == "/v1beta/models/gemini-embedding-001:batchEmbedContents")
        #expect(encoded.method == "POST")
        #expect(!encoded.isStreaming)
        #expect(
            try JSONValue.parse(encoded.body) == [
                "requests": [
                    ["model": "models/gemini-embedding-001", "content": ["parts": [["text": "The food was delicious and the waiter..."]]]]
                ]
            ]
        )
    }

    @Test func severalInputsAndDimensions() throws {
        let request = try self.request(#"{"model":"emb","input":["a","b"],"dimensions":768,"user":"u"}"#)
        let body = try JSONValue.parse(try self.gemini.encodeEmbeddingsRequest(request, target: self.target).body)
        #expect(
            body == [
                "requests": [
                    ["model": "models/gemini-embedding-001", "content": ["parts": [["text": "a"]]], "outputDimensionality": 768],
                    ["model": "models/gemini-embedding-001", "content": ["parts": [["text": "b"]]], "outputDimensionality": 768],
                ]
            ]
        )
    }

    @Test(arguments: [
        (#"{"model":"e","input":[[1,2,3]]}"#, "input[0]", TranslationError.Code.unsupportedFeature),
        (#"{"model":"e","input":["a",[1]]}"#, "input[1]", .unsupportedFeature),
        (#"{"model":"e","input":[]}"#, "input", .invalidRequest),
        (#"{"model":"e","input":"a","encoding_format":"int8"}"#, "encoding_format", .invalidRequest),
        (#"{"model":"e","input":"a","dimensions":"big"}"#, "dimensions", .invalidRequest),
    ])
    func unusableRequestsAreRefused(json: String, param: String, code: TranslationError.Code) throws {
        let request = try self.request(json)
        let error = #expect(throws: TranslationError.self) { try self.gemini.encodeEmbeddingsRequest(request, target: self.target) }
        #expect(error?.param == param)
        #expect(error?.code == code)
    }

    static let answer = #"{"embeddings":[{"values":[0.0023064255,-0.009327292,-0.0028842222]},{"values":[1.0,-2.0,0.5]}]}"#

    @Test func floatVectorsKeepTheProvidersNumbers() throws {
        let request = try self.request(#"{"model":"my-embedder","input":["The food was delicious","b"]}"#)
        let response = try self.gemini.decodeEmbeddingsResponse(Array(Self.answer.utf8), for: request)
        let tokens = request.estimatedInputTokens
        #expect(
            JSONValue.object(response.body) == [
                "object": "list",
                "data": [
                    ["object": "embedding", "index": 0, "embedding": [0.0023064255, -0.009327292, -0.0028842222]],
                    ["object": "embedding", "index": 1, "embedding": [1, -2, 0.5]],
                ],
                "model": "my-embedder",
                "usage": ["prompt_tokens": .int(tokens), "total_tokens": .int(tokens)],
            ]
        )
        #expect(response.inputTokens == nil, "Gemini counts no tokens, so the sidecar estimates")
        #expect(tokens > 0)
        #expect(response.serialized().count > 0)
    }

    /// Little-endian float32, base64 — the padding cases of one, two and three floats.
    @Test(arguments: [
        ("[1.0]", "AACAPw=="), ("[1.0,-2.0]", "AACAPwAAAMA="), ("[1.0,-2.0,0.5]", "AACAPwAAAMAAAAA/"),
        ("[0.0023064255,-0.009327292,-0.0028842222]", "ZicXO4DRGLw4BT27"), ("[]", ""),
    ])
    func base64VectorsAreLittleEndianFloat32(values: String, base64: String) throws {
        let request = try self.request(#"{"model":"e","input":"a","encoding_format":"base64"}"#)
        let response = try self.gemini.decodeEmbeddingsResponse(Array(#"{"embeddings":[{"values":\#(values)}]}"#.utf8), for: request)
        #expect(JSONValue.object(response.body)["data"]?[0]?["embedding"] == .string(base64))
    }

    @Test(arguments: ["{}", #"{"embeddings":[{"value":[1]}]}"#, #"{"embeddings":[{"values":["x"]}]}"#, "nope"])
    func malformedAnswersAreTheProvidersFault(body: String) throws {
        let request = try self.request(#"{"model":"e","input":"a"}"#)
        let error = #expect(throws: TranslationError.self) { try self.gemini.decodeEmbeddingsResponse(Array(body.utf8), for: request) }
        #expect(error?.code == .malformedUpstreamPayload)
    }
}
