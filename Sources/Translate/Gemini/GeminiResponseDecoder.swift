//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Reads `GenerateContentResponse` objects: complete answers, and the pieces of a stream.
struct GeminiResponseDecoder {
    let context: ResponseContext
    let fallbackModel: String

    /// One piece of a candidate's content, in OpenAI terms.
    enum Piece: Equatable {
        case text(String)
        case reasoning(String)
        /// A function call: the name, the compact JSON arguments, Gemini's id if it sent one,
        /// and the thought signature to hand to the client.
        case call(name: String, arguments: String, id: String?, signature: String?)
    }

    /// The builder for an answer whose first (or only) response object is `object`.
    func builder(for object: JSONObject) -> ChatCompletionBuilder {
        ChatCompletionBuilder(
            id: object["responseId"]?.stringValue ?? self.context.responseID,
            created: self.context.created,
            model: object["modelVersion"]?.stringValue ?? self.fallbackModel
        )
    }

    /// The `chat.completion` for a complete answer: one choice per candidate.
    func completion(from object: JSONObject) throws(TranslationError) -> ChatResponse {
        let candidates = object["candidates"]?.arrayValue ?? []
        let blocked = Self.blockReason(in: object) != nil
        guard !candidates.isEmpty || blocked else {
            throw .malformed("The provider's generateContent answer has neither 'candidates' nor 'promptFeedback.blockReason'.")
        }
        let builder = self.builder(for: object)
        let usage = Self.usage(object["usageMetadata"])
        guard !candidates.isEmpty else {
            let message = ChatCompletionBuilder.message(content: "", reasoning: nil, toolCalls: [])
            return builder.completion(message: message, finishReason: "content_filter", usage: usage)
        }
        var choices: [JSONValue] = []
        var first: ChatResponse?
        for (position, candidate) in candidates.enumerated() {
            let index = candidate["index"]?.intValue ?? position
            var text: String?
            var reasoning: String?
            var calls: [ToolCall] = []
            var signatures: [String?] = []
            for piece in try Self.pieces(of: candidate) {
                switch piece {
                case .text(let fragment): text = (text ?? "") + fragment
                case .reasoning(let fragment): reasoning = (reasoning ?? "") + fragment
                case .call(let name, let arguments, let id, let signature):
                    let id = id ?? GeminiDialect.toolCallID(context: self.context, candidate: index, ordinal: calls.count)
                    calls.append(ToolCall(id: id, name: name, arguments: arguments))
                    signatures.append(signature)
                }
            }
            let message = Self.withSignatures(
                ChatCompletionBuilder.message(content: text ?? (calls.isEmpty ? "" : nil), reasoning: reasoning, toolCalls: calls),
                signatures
            )
            let finishReason = Self.finishReason(candidate["finishReason"]?.stringValue, hasToolCalls: !calls.isEmpty, blocked: blocked)
            let response = builder.completion(message: message, finishReason: finishReason, usage: usage)
            first = first ?? response
            var choice = JSONValue.object(response.body)["choices"]?[0] ?? .null
            choice["index"] = .int(index)
            choices.append(choice)
        }
        guard var body = first?.body, choices.count > 1 else { return first! }
        body["choices"] = .array(choices)
        return ChatResponse(openAI: body)
    }

    /// The pieces of one candidate's `content.parts`, in order. Empty text (Gemini ends some
    /// answers with a part that only carries a signature) and parts with no OpenAI equivalent
    /// (inline images, code execution) are skipped.
    static func pieces(of candidate: JSONValue) throws(TranslationError) -> [Piece] {
        var pieces: [Piece] = []
        for part in candidate["content"]?["parts"]?.arrayValue ?? [] {
            if let call = part["functionCall"] {
                guard let name = call["name"]?.stringValue else {
                    throw .malformed("The provider sent a function call without a name.")
                }
                let arguments = call["args"].map { $0.isNull ? "{}" : $0.jsonString } ?? "{}"
                let id = call["id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
                pieces.append(.call(name: name, arguments: arguments, id: id, signature: part["thoughtSignature"]?.stringValue))
            } else if let text = part["text"]?.stringValue, !text.isEmpty {
                pieces.append(part["thought"]?.boolValue == true ? .reasoning(text) : .text(text))
            }
        }
        return pieces
    }

    /// Adds `extra_content.google.thought_signature` to the tool calls that had one, as Google's
    /// OpenAI-compatible endpoint does, so clients that echo tool calls whole send it back.
    static func withSignatures(_ message: JSONObject, _ signatures: [String?]) -> JSONObject {
        guard signatures.contains(where: { $0 != nil }), case .array(var calls)? = message["tool_calls"] else { return message }
        for (index, signature) in signatures.enumerated() where signature != nil && calls.indices.contains(index) {
            calls[index]["extra_content"] = Self.extraContent(signature: signature)
        }
        var message = message
        message["tool_calls"] = .array(calls)
        return message
    }

    static func extraContent(signature: String?) -> JSONValue? {
        signature.map { ["google": ["thought_signature": .string($0)]] }
    }

    static func blockReason(in object: JSONObject) -> String? {
        JSONValue.object(object)["promptFeedback"]?["blockReason"]?.stringValue
    }

    /// Gemini's `finishReason` in OpenAI terms. A turn with function calls ends with `STOP`;
    /// safety-type endings and a blocked prompt are `content_filter`; the rest (`OTHER`,
    /// `LANGUAGE`, `MALFORMED_FUNCTION_CALL`, …) end the answer normally.
    static func finishReason(_ reason: String?, hasToolCalls: Bool, blocked: Bool) -> String {
        switch reason {
        case "MAX_TOKENS"?:
            return "length"
        case "SAFETY"?, "RECITATION"?, "BLOCKLIST"?, "PROHIBITED_CONTENT"?, "SPII"?:
            return "content_filter"
        case let reason? where reason.hasPrefix("IMAGE_"):
            return "content_filter"
        case nil where blocked:
            return "content_filter"
        default:
            return hasToolCalls ? "tool_calls" : "stop"
        }
    }

    /// `usageMetadata` with OpenAI's meanings: tool-use prompt tokens count as prompt, thoughts
    /// as completion (and reasoning), cached content as cached prompt.
    static func usage(_ metadata: JSONValue?) -> Usage? {
        guard let metadata, let prompt = metadata["promptTokenCount"]?.tokenCount else { return nil }
        let thoughts = metadata["thoughtsTokenCount"]?.tokenCount ?? 0
        return Usage(
            inputTokens: prompt + (metadata["toolUsePromptTokenCount"]?.tokenCount ?? 0),
            outputTokens: (metadata["candidatesTokenCount"]?.tokenCount ?? 0) + thoughts,
            cachedInputTokens: metadata["cachedContentTokenCount"]?.tokenCount ?? 0,
            reasoningTokens: thoughts
        )
    }
}
