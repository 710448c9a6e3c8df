//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Turns an Anthropic `message` into an OpenAI `chat.completion`.
///
/// Text blocks are concatenated into `content`, thinking blocks into `reasoning_content`, and
/// `tool_use` blocks become `tool_calls` (Anthropic's `toolu_…` ids, `arguments` the compact JSON
/// of `input`) — except a call of the structured-answer tool (``AnthropicJSONAnswer``), whose input
/// becomes the content. Redacted thinking and blocks of server tools are left out.
struct AnthropicResponseDecoder {
    let request: ChatRequest
    let context: ResponseContext

    func decode(_ body: [UInt8]) throws(TranslationError) -> ChatResponse {
        guard let message = (try? JSONValue.parse(body)), message.objectValue != nil else {
            throw .malformed("The provider's message is not a JSON object.")
        }
        guard let blocks = message["content"]?.arrayValue else {
            throw .malformed("The provider's message has no 'content' array.")
        }
        let answerTool = AnthropicJSONAnswer.toolName(for: self.request)
        var content: String?
        var reasoning: String?
        var toolCalls: [ToolCall] = []
        for block in blocks {
            switch block["type"]?.stringValue {
            case "text"?:
                content = (content ?? "") + (block["text"]?.stringValue ?? "")
            case "thinking"?:
                reasoning = (reasoning ?? "") + (block["thinking"]?.stringValue ?? "")
            case "tool_use"?:
                let name = block["name"]?.stringValue ?? ""
                let input = block["input"] ?? [:]
                if name == answerTool {
                    content = (content ?? "") + input.jsonString
                } else {
                    toolCalls.append(ToolCall(id: block["id"]?.stringValue ?? "", name: name, arguments: input.jsonString))
                }
            default:
                continue
            }
        }
        if content == nil, toolCalls.isEmpty { content = "" }
        let builder = ChatCompletionBuilder(
            id: message["id"]?.stringValue ?? self.context.responseID,
            created: self.context.created,
            model: message["model"]?.stringValue ?? self.request.model
        )
        return builder.completion(
            message: ChatCompletionBuilder.message(content: content, reasoning: reasoning, toolCalls: toolCalls),
            finishReason: AnthropicStopReason.finishReason(message["stop_reason"]?.stringValue, calledClientTools: !toolCalls.isEmpty),
            usage: AnthropicUsage(message["usage"]).usage
        )
    }
}

/// Anthropic's `stop_reason` as an OpenAI `finish_reason`.
enum AnthropicStopReason {
    /// - Parameter calledClientTools: whether the answer holds tool calls for the client; a
    ///   `tool_use` stop that only called the structured-answer tool is a normal `stop`.
    static func finishReason(_ stopReason: String?, calledClientTools: Bool) -> String? {
        switch stopReason {
        case nil: nil
        case "tool_use"?: calledClientTools ? "tool_calls" : "stop"
        case "max_tokens"?, "model_context_window_exceeded"?: "length"
        case "refusal"?: "content_filter"
        // end_turn, stop_sequence, pause_turn, and anything newer.
        default: "stop"
        }
    }
}

/// Anthropic token counts, read from a `usage` object; in streams each report overrides the
/// fields it carries (counts are cumulative).
struct AnthropicUsage {
    private var input = 0
    private var cacheCreation = 0
    private var cacheRead = 0
    private var output = 0
    private var reported = false

    init(_ json: JSONValue? = nil) {
        self.update(json)
    }

    mutating func update(_ json: JSONValue?) {
        guard let json, json.objectValue != nil else { return }
        if let value = json["input_tokens"]?.tokenCount { self.input = value }
        if let value = json["cache_creation_input_tokens"]?.tokenCount { self.cacheCreation = value }
        if let value = json["cache_read_input_tokens"]?.tokenCount { self.cacheRead = value }
        if let value = json["output_tokens"]?.tokenCount { self.output = value }
        self.reported = true
    }

    /// OpenAI semantics: prompt tokens include both cache reads and cache writes.
    var usage: Usage? {
        guard self.reported else { return nil }
        return Usage(
            inputTokens: self.input + self.cacheCreation + self.cacheRead,
            outputTokens: self.output,
            cachedInputTokens: self.cacheRead,
            cacheCreationInputTokens: self.cacheCreation
        )
    }
}
