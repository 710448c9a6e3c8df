//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Turns an OpenAI `chat.completion` into an Anthropic `message`.
///
/// The first choice's `reasoning_content` becomes a `thinking` block (with an empty
/// `signature`: only Anthropic signs thinking), its `content` a `text` block, each tool call a
/// `tool_use` block whose `input` is the parsed `arguments` (`{}` when they are not a JSON
/// object). `finish_reason` maps to `stop_reason` (``stopReason(_:)``); usage to Anthropic's
/// counts, where `input_tokens` excludes cache reads and writes.
public enum MessagesAnswer {
    /// - Parameters:
    ///   - usage: the usage to report (the provider's, or the sidecar's estimate).
    ///   - fallbackID: the id when the completion has none.
    public static func message(from completion: ChatResponse, usage: Usage?, fallbackID: String) -> JSONObject {
        let json = JSONValue.object(completion.body)
        let choice = json["choices"]?[0]
        let message = choice?["message"]
        var content: [JSONValue] = []
        if let reasoning = message?["reasoning_content"]?.stringValue, !reasoning.isEmpty {
            content.append(["type": "thinking", "thinking": .string(reasoning), "signature": ""])
        }
        let calls = message?["tool_calls"]?.arrayValue ?? []
        let text = message?["content"]?.stringValue ?? ""
        if !text.isEmpty || calls.isEmpty { content.append(["type": "text", "text": .string(text)]) }
        for call in calls {
            content.append(
                Self.toolUse(
                    id: call["id"]?.stringValue,
                    name: call["function"]?["name"]?.stringValue,
                    arguments: call["function"]?["arguments"]?.stringValue
                )
            )
        }
        return [
            "id": .string(completion.responseID ?? fallbackID),
            "type": "message",
            "role": "assistant",
            "model": .string(completion.responseModel ?? ""),
            "content": .array(content),
            "stop_reason": .optional(Self.stopReason(completion.finishReasons.first)),
            "stop_sequence": nil,
            "usage": .object(Self.usage(usage)),
        ]
    }

    /// A `tool_use` block for an OpenAI tool call.
    static func toolUse(id: String?, name: String?, arguments: String?) -> JSONValue {
        let input = (try? JSONValue.parse(Array((arguments ?? "{}").utf8))).flatMap { $0.objectValue.map(JSONValue.object) }
        return ["type": "tool_use", "id": .string(id ?? ""), "name": .string(name ?? ""), "input": input ?? [:]]
    }

    /// Anthropic's `stop_reason` for an OpenAI `finish_reason`: `stop` → `end_turn`, `length` →
    /// `max_tokens`, `tool_calls` / `function_call` → `tool_use`, `content_filter` → `refusal`.
    /// (Chat Completions does not say whether a stop sequence ended the answer, so
    /// `stop_sequence` only comes from Anthropic itself.)
    public static func stopReason(_ finishReason: String?) -> String? {
        switch finishReason {
        case nil: nil
        case "length"?: "max_tokens"
        case "tool_calls"?, "function_call"?: "tool_use"
        case "content_filter"?: "refusal"
        default: "end_turn"
        }
    }

    /// Anthropic's `usage` object; zeros when `usage` is `nil`.
    public static func usage(_ usage: Usage?) -> JSONObject {
        let usage = usage ?? Usage(inputTokens: 0, outputTokens: 0)
        let uncached = max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheCreationInputTokens)
        return [
            "input_tokens": .int(uncached),
            "cache_creation_input_tokens": .int(usage.cacheCreationInputTokens),
            "cache_read_input_tokens": .int(usage.cachedInputTokens),
            "output_tokens": .int(usage.outputTokens),
        ]
    }
}
