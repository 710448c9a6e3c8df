//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Builds the Chat Completions body of a Messages request, field by field:
///
/// - `system` (string or text blocks) → a `system` message; `max_tokens` →
///   `max_completion_tokens`; `stop_sequences` → `stop`; `metadata.user_id` → `user`;
///   `temperature`, `top_p` → as sent; `stream` → `stream` with `include_usage`.
/// - `tools` → function tools (`input_schema` → `parameters`); `tool_choice` `auto`, `any`
///   (→ `required`), `tool` (→ the function), `none`; `disable_parallel_tool_use` →
///   `parallel_tool_calls: false`. Server tools (a `type` other than `custom`) → 400.
/// - Content blocks: see ``MessagesContent``.
/// - `thinking`: `enabled` with its budget (see ``MessagesRequest/chatRequest(for:)``);
///   `adaptive` (the model decides) and `disabled` leave it to the provider's default.
/// - `mcp_servers` and `container` → 400; `cache_control`, citations, `service_tier` and
///   other fields → dropped.
struct MessagesToChat {
    let reader: FieldReader
    let maxTokens: Int
    let stream: Bool

    /// Top-level fields no translation can carry: asking for them is a 400 naming the field.
    static let inexpressibleFields = ["mcp_servers", "container"]

    /// The Chat Completions body and the thinking it asks for.
    struct Translation: Sendable {
        var body: JSONObject
        /// `thinking.budget_tokens` when `thinking.type` is `enabled`.
        var thinkingBudget: Int?
        /// Whether `thinking.type` is `disabled`.
        var thinkingDisabled = false
    }

    func translation() throws(TranslationError) -> Translation {
        var translation = Translation(body: try self.body())
        guard let thinking = try self.reader.optionalObject("thinking") else { return translation }
        switch try thinking.requiredString("type") {
        case "enabled":
            guard let budget = try thinking.optionalCount("budget_tokens", from: 1, to: ChatRequest.maximumOutputTokens) else {
                throw .invalid("'thinking.budget_tokens' is required.", param: "thinking.budget_tokens")
            }
            translation.thinkingBudget = budget
        case "disabled":
            translation.thinkingDisabled = true
        case "adaptive":
            break
        case let other:
            throw .invalid("'thinking.type' must be \"enabled\", \"adaptive\" or \"disabled\", not \"\(other)\".", param: "thinking.type")
        }
        return translation
    }

    private func body() throws(TranslationError) -> JSONObject {
        for key in Self.inexpressibleFields where self.reader.optionalValue(key) != nil {
            throw TranslationError(.unsupportedFeature, "'\(key)' can be sent only to Anthropic models.", param: key)
        }
        var body: JSONObject = ["model": .string(try self.reader.requiredString("model"))]
        var messages: [JSONValue] = []
        if let system = try self.system() { messages.append(["role": "system", "content": .string(system)]) }
        let turns = try self.reader.requiredArray("messages")
        guard !turns.isEmpty else { throw .invalid("'messages' must contain at least one message.", param: "messages") }
        for (index, turn) in turns.enumerated() {
            messages += try MessagesContent.chatMessages(turn, path: "messages[\(index)]")
        }
        body["messages"] = .array(messages)
        body["max_completion_tokens"] = .int(self.maxTokens)
        if self.stream {
            body["stream"] = true
            body["stream_options"] = ["include_usage": true]
        }
        for key in ["temperature", "top_p"] {
            if let value = self.reader.optionalValue(key) { body[key] = value }
        }
        if let stops = try self.stopSequences() { body["stop"] = .array(stops) }
        if let user = try self.reader.optionalObject("metadata")?.optionalString("user_id") { body["user"] = .string(user) }
        try self.addTools(to: &body)
        return body
    }

    private func system() throws(TranslationError) -> String? {
        switch self.reader.optionalValue("system") {
        case nil: return nil
        case .string(let text)?: return text
        case .array(let blocks)?:
            var texts: [String] = []
            for (index, block) in blocks.enumerated() {
                let path = "system[\(index)]"
                let reader = try FieldReader(block, path: path)
                guard try reader.requiredString("type") == "text" else {
                    throw .invalid("'\(path)' must be a text block.", param: reader.param("type"))
                }
                texts.append(try reader.requiredString("text"))
            }
            return texts.joined(separator: "\n")
        case let other?:
            throw .invalid("'system' must be a string or an array of text blocks, not \(other.typeName).", param: "system")
        }
    }

    private func stopSequences() throws(TranslationError) -> [JSONValue]? {
        guard let stops = try self.reader.optionalArray("stop_sequences") else { return nil }
        for (index, stop) in stops.enumerated() where stop.stringValue == nil {
            throw .invalid("'stop_sequences[\(index)]' must be a string, not \(stop.typeName).", param: "stop_sequences[\(index)]")
        }
        return stops.isEmpty ? nil : stops
    }

    private func addTools(to body: inout JSONObject) throws(TranslationError) {
        var tools: [JSONValue] = []
        for (index, element) in (try self.reader.optionalArray("tools") ?? []).enumerated() {
            let tool = try FieldReader(element, path: "tools[\(index)]")
            if let type = try tool.optionalString("type"), type != "custom" {
                throw TranslationError(
                    .unsupportedFeature,
                    "Anthropic's server tool '\(type)' can be used only with Anthropic models.",
                    param: "tools[\(index)].type"
                )
            }
            var function: JSONObject = ["name": .string(try tool.requiredString("name"))]
            if let description = try tool.optionalString("description") { function["description"] = .string(description) }
            guard let schema = try tool.optionalObject("input_schema") else {
                throw .invalid("'\(tool.param("input_schema"))' is required.", param: tool.param("input_schema"))
            }
            function["parameters"] = .object(schema.object)
            tools.append(["type": "function", "function": .object(function)])
        }
        guard let choice = try self.reader.optionalObject("tool_choice") else {
            if !tools.isEmpty { body["tools"] = .array(tools) }
            return
        }
        let type = try choice.requiredString("type")
        let value: JSONValue
        switch type {
        case "auto": value = "auto"
        case "any": value = "required"
        case "none": value = "none"
        case "tool": value = ["type": "function", "function": ["name": .string(try choice.requiredString("name"))]]
        default:
            throw .invalid("'tool_choice.type' must be \"auto\", \"any\", \"tool\" or \"none\", not \"\(type)\".", param: "tool_choice.type")
        }
        guard !tools.isEmpty else {
            if type == "none" || type == "auto" { return }
            throw .invalid("'tool_choice' requires at least one tool in 'tools'.", param: "tool_choice")
        }
        body["tools"] = .array(tools)
        body["tool_choice"] = value
        if try choice.optionalBool("disable_parallel_tool_use") == true { body["parallel_tool_calls"] = false }
    }
}
