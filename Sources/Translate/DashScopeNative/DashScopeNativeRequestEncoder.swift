//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Builds a native text-generation body from a Chat Completions request.
struct DashScopeNativeRequestEncoder {
    let request: ChatRequest
    let target: UpstreamTarget

    /// `reasoning_effort` → `enable_thinking` / `thinking_budget`. `none` turns thinking off;
    /// `high` leaves the budget at the model's maximum.
    static let thinking: [String: (enabled: Bool, budget: Int?)] = [
        "none": (false, nil), "minimal": (true, 128), "low": (true, 1024), "medium": (true, 8192), "high": (true, nil),
    ]

    /// DashScope's own parameters (and OpenAI ones it shares), copied from the client's body as
    /// sent; they win over what `reasoning_effort` implies.
    static let passthroughParameters = [
        "enable_thinking", "thinking_budget", "enable_search", "search_options", "enable_code_interpreter", "top_k",
        "repetition_penalty", "presence_penalty",
    ]

    func body() throws(TranslationError) -> JSONObject {
        try OpenAIOnlyFields.reject(in: self.request.body, provider: "DashScope's native API")
        return [
            "model": .string(self.target.model),
            "input": ["messages": .array(try self.messages())],
            "parameters": .object(try self.parameters()),
        ]
    }

    // MARK: Messages

    private func messages() throws(TranslationError) -> [JSONValue] {
        var messages: [JSONValue] = []
        for (index, message) in self.request.messages.enumerated() {
            let path = "messages[\(index)]"
            let content = try Self.text(message.content, path: "\(path).content")
            switch message.role {
            case .system, .developer:
                messages.append(["role": "system", "content": .string(content)])
            case .user:
                messages.append(["role": "user", "content": .string(content)])
            case .assistant:
                var object: JSONObject = ["role": "assistant", "content": .string(content)]
                if !message.toolCalls.isEmpty {
                    object["tool_calls"] = .array(
                        message.toolCalls.map { call in
                            [
                                "id": .string(call.id), "type": "function",
                                "function": ["name": .string(call.name), "arguments": .string(call.arguments)],
                            ]
                        }
                    )
                }
                messages.append(.object(object))
            case .tool:
                messages.append(["role": "tool", "content": .string(content), "tool_call_id": .string(message.toolCallID ?? "")])
            case .function:
                throw TranslationError(
                    .unsupportedFeature,
                    "The legacy 'function' role is not supported for DashScope; use 'tool' messages.",
                    param: "\(path).role"
                )
            }
        }
        return messages
    }

    /// The text of a message; the text-generation endpoint takes no images or other media (they
    /// need the multimodal-generation endpoint, which this dialect does not speak).
    private static func text(_ content: MessageContent, path: String) throws(TranslationError) -> String {
        if case .parts(let parts) = content, let index = parts.firstIndex(where: { $0.text == nil }) {
            throw TranslationError(
                .unsupportedFeature,
                "DashScope's native text-generation API takes text only; use a vision model through the compatible-mode provider for images.",
                param: "\(path)[\(index)]"
            )
        }
        return content.text
    }

    // MARK: Parameters

    private func parameters() throws(TranslationError) -> JSONObject {
        let options = self.request.options
        let body = self.request.body
        var parameters: JSONObject = ["result_format": "message"]
        if self.request.stream { parameters["incremental_output"] = true }
        if let limit = self.request.maxOutputTokens { parameters["max_tokens"] = .int(limit) }
        if options.temperature != nil, let value = body["temperature"] { parameters["temperature"] = value }
        if options.topP != nil, let value = body["top_p"] { parameters["top_p"] = value }
        if let seed = options.seed { parameters["seed"] = .int(seed) }
        if !options.stop.isEmpty { parameters["stop"] = .array(options.stop.map(JSONValue.string)) }
        if let count = options.choiceCount, count != 1 { parameters["n"] = .int(count) }
        for (index, tool) in (body["tools"]?.arrayValue ?? []).enumerated() where tool["function"] == nil {
            throw TranslationError(.unsupportedFeature, "Only function tools are supported for DashScope.", param: "tools[\(index)]")
        }
        if !self.request.tools.isEmpty {
            parameters["tools"] = .array(
                self.request.tools.map { tool in
                    var function: JSONObject = ["name": .string(tool.name)]
                    if let description = tool.description { function["description"] = .string(description) }
                    if let schema = tool.parameters { function["parameters"] = schema }
                    return ["type": "function", "function": .object(function)]
                }
            )
            if options.toolChoice != nil, let choice = body["tool_choice"] { parameters["tool_choice"] = choice }
            if let parallel = options.parallelToolCalls { parameters["parallel_tool_calls"] = .bool(parallel) }
        }
        if let format = options.responseFormat, format != .text, let value = body["response_format"] {
            parameters["response_format"] = value
        }
        if let effort = options.reasoningEffort {
            guard let thinking = Self.thinking[effort] else {
                let known = ["none", "minimal", "low", "medium", "high"].joined(separator: ", ")
                throw .invalid("'reasoning_effort' must be one of \(known), not '\(effort)'.", param: "reasoning_effort")
            }
            parameters["enable_thinking"] = .bool(thinking.enabled)
            if let budget = thinking.budget { parameters["thinking_budget"] = .int(budget) }
        }
        for key in Self.passthroughParameters {
            if let value = body[key], !value.isNull { parameters[key] = value }
        }
        return parameters
    }
}
