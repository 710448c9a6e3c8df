//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Reads native generation answers (`{"output":{"choices":[…]},"usage","request_id"}`), whole or
/// as stream events.
struct DashScopeNativeResponseDecoder {
    let context: ResponseContext
    /// The `model` reported to the client: DashScope's answers do not name one.
    let model: String

    /// What one choice of one answer or event holds.
    struct Message: Equatable {
        struct Call: Equatable {
            /// The call's position among the message's calls (`index`, else its array position).
            var index: Int
            var id: String?
            var name: String?
            var arguments: String
        }

        var reasoning = ""
        var content = ""
        var calls: [Call] = []
    }

    func builder(for object: JSONObject) -> ChatCompletionBuilder {
        ChatCompletionBuilder(
            id: object["request_id"]?.stringValue ?? self.context.responseID,
            created: self.context.created,
            model: self.model
        )
    }

    func completion(from object: JSONObject) throws(TranslationError) -> ChatResponse {
        let choices = try Self.choices(in: object)
        let builder = self.builder(for: object)
        let usage = Self.usage(object["usage"])
        var bodies: [JSONValue] = []
        var first: ChatResponse?
        for (position, choice) in choices.enumerated() {
            let index = choice["index"]?.intValue ?? position
            let message = try Self.message(in: choice)
            let calls = message.calls.enumerated().map { ordinal, call in
                ToolCall(
                    id: call.id ?? self.toolCallID(choice: index, ordinal: ordinal),
                    name: call.name ?? "",
                    arguments: call.arguments.isEmpty ? "{}" : call.arguments
                )
            }
            let content: String? = message.content.isEmpty && !calls.isEmpty ? nil : message.content
            let response = builder.completion(
                message: ChatCompletionBuilder.message(
                    content: content,
                    reasoning: message.reasoning.isEmpty ? nil : message.reasoning,
                    toolCalls: calls
                ),
                finishReason: Self.finishReason(Self.rawFinishReason(of: choice), hasToolCalls: !calls.isEmpty),
                usage: usage
            )
            first = first ?? response
            var body = JSONValue.object(response.body)["choices"]?[0] ?? .null
            body["index"] = .int(index)
            bodies.append(body)
        }
        guard var body = first?.body else { throw .malformed("The provider's generation answer has no choices.") }
        if bodies.count > 1 {
            body["choices"] = .array(bodies)
            return ChatResponse(openAI: body)
        }
        return first ?? ChatResponse(openAI: body)
    }

    /// `output.choices`, or the legacy `result_format: "text"` answer (`output.text`) as one choice.
    static func choices(in object: JSONObject) throws(TranslationError) -> [JSONValue] {
        guard let output = object["output"], output.objectValue != nil else {
            throw .malformed("The provider's generation answer has no 'output' object.")
        }
        if let choices = output["choices"]?.arrayValue { return choices }
        if let text = output["text"]?.stringValue {
            return [["finish_reason": output["finish_reason"] ?? .null, "message": ["role": "assistant", "content": .string(text)]]]
        }
        throw .malformed("The provider's generation answer has neither 'output.choices' nor 'output.text'.")
    }

    static func message(in choice: JSONValue) throws(TranslationError) -> Message {
        guard let message = choice["message"], message.objectValue != nil else {
            throw .malformed("The provider sent a choice without a 'message' object.")
        }
        var result = Message()
        result.reasoning = message["reasoning_content"]?.stringValue ?? ""
        switch message["content"] {
        case .string(let text)?: result.content = text
        case .array(let parts)?: result.content = parts.compactMap { $0["text"]?.stringValue }.joined()
        default: break
        }
        for (position, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
            let arguments: String
            switch call["function"]?["arguments"] {
            case .string(let text)?: arguments = text
            case nil, .null?: arguments = ""
            case let other?: arguments = other.jsonString
            }
            result.calls.append(
                Message.Call(
                    index: call["index"]?.intValue ?? position,
                    id: call["id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                    name: call["function"]?["name"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                    arguments: arguments
                )
            )
        }
        return result
    }

    /// The choice's finish reason; `nil` while streaming (DashScope sends the string `"null"`).
    static func rawFinishReason(of choice: JSONValue) -> String? {
        guard let reason = choice["finish_reason"]?.stringValue, reason != "null", !reason.isEmpty else { return nil }
        return reason
    }

    static func finishReason(_ reason: String?, hasToolCalls: Bool) -> String {
        switch reason {
        case "length"?: "length"
        case "content_filter"?: "content_filter"
        case "tool_calls"?: "tool_calls"
        default: hasToolCalls ? "tool_calls" : "stop"
        }
    }

    static func usage(_ json: JSONValue?) -> Usage? {
        guard let json, let input = json["input_tokens"]?.tokenCount else { return nil }
        let output = json["output_tokens"]?.tokenCount ?? max(0, (json["total_tokens"]?.tokenCount ?? input) - input)
        return Usage(
            inputTokens: input,
            outputTokens: output,
            cachedInputTokens: json["prompt_tokens_details"]?["cached_tokens"]?.tokenCount ?? 0,
            reasoningTokens: json["output_tokens_details"]?["reasoning_tokens"]?.tokenCount ?? 0
        )
    }

    /// The id of a tool call DashScope sent without one: `call_<response id suffix>_<ordinal>`.
    func toolCallID(choice: Int, ordinal: Int) -> String {
        let id = self.context.responseID
        let suffix = id.hasPrefix("chatcmpl-") ? String(id.dropFirst("chatcmpl-".count)) : id
        return choice == 0 ? "call_\(suffix)_\(ordinal)" : "call_\(suffix)_\(choice)_\(ordinal)"
    }
}
