//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Builds an Anthropic Messages request from a validated OpenAI ``ChatRequest``.
///
/// Every OpenAI field is either translated, dropped because leaving it out cannot change the
/// answer's shape (`seed`, penalties, `store`, `service_tier`, …), or rejected with a client error
/// naming it when Anthropic cannot do what it asks (`n` > 1, `logprobs`, audio, …). Two Anthropic
/// fields OpenAI lacks are read from the body as extensions: `top_k` and `thinking`
/// (`{"type":"enabled","budget_tokens":N}`, which takes precedence over `reasoning_effort`).
struct AnthropicRequestEncoder {
    let dialect: AnthropicDialect
    let request: ChatRequest
    let target: UpstreamTarget

    private var options: ChatOptions { self.request.options }

    /// Extended thinking as it will be requested.
    private struct Thinking {
        var budget: Int
        /// Set by the client's own `thinking` object, so its budget is used as given.
        var isExplicit: Bool
    }

    func body() throws(TranslationError) -> JSONObject {
        try self.rejectInexpressibleFields()
        let conversation = try AnthropicConversation(self.request)
        var thinking = try self.requestedThinking()
        if conversation.lastAssistantTurnCallsTools {
            // Anthropic then requires that turn to start with its signed thinking block, which an
            // OpenAI client never received; thinking is left off for this request instead.
            thinking = nil
        }
        let maxTokens = try self.maxTokens(thinking: &thinking)

        var body: JSONObject = ["model": .string(self.target.model), "max_tokens": .int(maxTokens)]
        if !conversation.system.isEmpty { body["system"] = .array(conversation.system) }
        body["messages"] = .array(conversation.turns.map(\.json))
        try self.addTools(to: &body, thinking: thinking != nil)
        if let thinking { body["thinking"] = ["type": "enabled", "budget_tokens": .int(thinking.budget)] }
        try self.addSampling(to: &body, thinking: thinking != nil)
        if !self.options.stop.isEmpty { body["stop_sequences"] = .array(self.options.stop.map(JSONValue.string)) }
        if let user = self.options.user ?? self.field("safety_identifier")?.stringValue {
            body["metadata"] = ["user_id": .string(user)]
        }
        if self.request.stream { body["stream"] = true }
        return body
    }

    // MARK: Fields Anthropic cannot express

    private func rejectInexpressibleFields() throws(TranslationError) {
        if let count = self.options.choiceCount, count > 1 {
            throw Self.unsupported("Anthropic returns a single choice per request; 'n' must be 1.", param: "n")
        }
        if self.field("logprobs") == true {
            throw Self.unsupported("Anthropic does not return log probabilities.", param: "logprobs")
        }
        if let count = self.field("top_logprobs")?.intValue, count > 0 {
            throw Self.unsupported("Anthropic does not return log probabilities.", param: "top_logprobs")
        }
        if self.field("audio") != nil {
            throw Self.unsupported("Anthropic does not generate audio.", param: "audio")
        }
        if let modalities = self.field("modalities")?.arrayValue, modalities.contains(where: { $0 != "text" }) {
            throw Self.unsupported("Anthropic generates only text; 'modalities' must be [\"text\"].", param: "modalities")
        }
        if let bias = self.field("logit_bias")?.objectValue, !bias.isEmpty {
            throw Self.unsupported("Anthropic has no logit bias.", param: "logit_bias")
        }
        for key in ["functions", "function_call"] where self.field(key) != nil {
            throw Self.unsupported("The deprecated '\(key)' cannot be sent to Anthropic; use 'tools' and 'tool_choice'.", param: key)
        }
        if self.field("web_search_options") != nil {
            throw Self.unsupported("OpenAI's web search cannot be expressed for Anthropic.", param: "web_search_options")
        }
    }

    // MARK: Thinking and the output limit

    private func requestedThinking() throws(TranslationError) -> Thinking? {
        if let value = self.field("thinking") {
            let thinking = try FieldReader(value, path: "thinking")
            switch try thinking.requiredString("type") {
            case "enabled":
                guard let budget = try thinking.optionalCount("budget_tokens", to: ChatRequest.maximumOutputTokens) else {
                    throw .invalid("'thinking.budget_tokens' is required.", param: "thinking.budget_tokens")
                }
                return Thinking(budget: budget, isExplicit: true)
            case "disabled":
                return nil
            case let other:
                throw .invalid("'thinking.type' must be \"enabled\" or \"disabled\", not \"\(other)\".", param: "thinking.type")
            }
        }
        guard let effort = self.options.reasoningEffort, effort != "none" else { return nil }
        guard let budget = AnthropicDialect.thinkingBudgets[effort] else {
            let known = (["none"] + AnthropicDialect.thinkingBudgets.sorted { $0.value < $1.value }.map(\.key)).joined(separator: ", ")
            throw .invalid("'\(effort)' is not a valid reasoning_effort; expected one of \(known).", param: "reasoning_effort")
        }
        return Thinking(budget: budget, isExplicit: false)
    }

    /// `max_tokens`: the client's limit, else the model's, else the dialect's default plus any
    /// thinking budget. A `reasoning_effort` budget shrinks to fit below the limit (Anthropic
    /// counts thinking within `max_tokens` and wants the budget smaller).
    private func maxTokens(thinking: inout Thinking?) throws(TranslationError) -> Int {
        let limit: Int
        let param: String
        if let clientLimit = self.request.maxOutputTokens {
            limit = clientLimit
            param = self.field("max_completion_tokens") != nil ? "max_completion_tokens" : "max_tokens"
        } else if let modelLimit = self.target.maxOutputTokens {
            limit = modelLimit
            param = "reasoning_effort"
        } else {
            return self.dialect.defaultMaxTokens + (thinking?.budget ?? 0)
        }
        if var chosen = thinking, !chosen.isExplicit {
            chosen.budget = min(chosen.budget, limit - 1)
            guard chosen.budget >= AnthropicDialect.minimumThinkingBudget else {
                throw Self.unsupported(
                    "Anthropic's extended thinking needs a budget of at least \(AnthropicDialect.minimumThinkingBudget) tokens below "
                        + "the output limit, and \(limit) leaves no room; raise the limit or drop reasoning_effort.",
                    param: param
                )
            }
            thinking = chosen
        }
        return limit
    }

    // MARK: Tools

    private func addTools(to body: inout JSONObject, thinking: Bool) throws(TranslationError) {
        var tools = try self.clientTools()
        let hasClientTools = !tools.isEmpty
        var choice = try self.toolChoice(hasClientTools: hasClientTools)
        if let answer = try AnthropicJSONAnswer(request: self.request) {
            let param = self.field("response_format")?["json_schema"] != nil ? "response_format.json_schema.name" : "response_format"
            if thinking {
                throw Self.unsupported(
                    "Anthropic delivers structured answers through a forced tool call, which extended thinking does not allow; "
                        + "drop reasoning_effort or response_format.",
                    param: "response_format"
                )
            }
            if tools.contains(where: { $0["name"]?.stringValue == answer.name }) {
                throw Self.unsupported(
                    "The structured answer is requested as a tool named '\(answer.name)', which collides with one of 'tools'; rename the schema.",
                    param: param
                )
            }
            tools.append(answer.tool)
            if hasClientTools, self.options.toolChoice != ToolChoice.none {
                // Either call one of the client's tools or answer through the answer tool.
                choice = self.withParallelism(["type": "any"])
            } else {
                choice = ["type": "tool", "name": .string(answer.name), "disable_parallel_tool_use": true]
            }
        } else if thinking, let type = choice?["type"], type == "any" || type == "tool" {
            throw Self.unsupported(
                "Anthropic cannot force a tool call while extended thinking is on; use tool_choice \"auto\" or drop reasoning_effort.",
                param: "tool_choice"
            )
        }
        guard !tools.isEmpty else { return }
        body["tools"] = .array(tools)
        if let choice { body["tool_choice"] = .object(choice) }
    }

    private func clientTools() throws(TranslationError) -> [JSONValue] {
        var typed = self.request.tools.makeIterator()
        var tools: [JSONValue] = []
        for (index, raw) in (self.field("tools")?.arrayValue ?? []).enumerated() {
            guard raw["function"]?.objectValue != nil, let tool = typed.next() else {
                let type = raw["type"]?.stringValue ?? "untyped"
                throw Self.unsupported("Anthropic takes only function tools; a '\(type)' tool cannot be expressed.", param: "tools[\(index)]")
            }
            var object: JSONObject = ["name": .string(tool.name)]
            if let description = tool.description { object["description"] = .string(description) }
            object["input_schema"] = Self.inputSchema(tool.parameters)
            if let cache = raw["cache_control"], !cache.isNull { object["cache_control"] = cache }
            tools.append(.object(object))
        }
        return tools
    }

    /// Anthropic requires an input schema of type `object`; a function without parameters takes none.
    private static func inputSchema(_ parameters: JSONValue?) -> JSONValue {
        guard case .object(let schema)? = parameters else { return ["type": "object", "properties": [:]] }
        return .object(Self.declaringObject(schema))
    }

    /// `schema` with `"type": "object"` first when it names no type (Anthropic requires the type).
    static func declaringObject(_ schema: JSONObject) -> JSONObject {
        guard schema["type"] == nil else { return schema }
        return JSONObject([("type", "object")] + schema.members.map { ($0.key, $0.value) })
    }

    private func toolChoice(hasClientTools: Bool) throws(TranslationError) -> JSONObject? {
        let choice: JSONObject
        switch self.options.toolChoice {
        case nil:
            guard self.options.parallelToolCalls != nil else { return nil }
            choice = ["type": "auto"]
        case .auto?:
            choice = ["type": "auto"]
        case ToolChoice.none?:
            return hasClientTools ? ["type": "none"] : nil
        case .required?:
            choice = ["type": "any"]
        case .function(let name)?:
            choice = ["type": "tool", "name": .string(name)]
        }
        guard hasClientTools else {
            if choice["type"] == "auto" { return nil }
            throw .invalid("'tool_choice' requires a function in 'tools'.", param: "tool_choice")
        }
        return self.withParallelism(choice)
    }

    private func withParallelism(_ choice: JSONObject) -> JSONObject {
        guard let parallel = self.options.parallelToolCalls else { return choice }
        var choice = choice
        choice["disable_parallel_tool_use"] = .bool(!parallel)
        return choice
    }

    // MARK: Sampling

    /// Copies sampling options with the client's number literals, within Anthropic's rules:
    /// temperature 0…1, and with thinking no temperature but 1, top_p only from 0.95, no top_k.
    private func addSampling(to body: inout JSONObject, thinking: Bool) throws(TranslationError) {
        if let temperature = self.options.temperature, let literal = self.field("temperature") {
            if thinking {
                guard temperature == 1 else {
                    throw Self.unsupported(
                        "Anthropic runs extended thinking (reasoning_effort) only at the default temperature 1; "
                            + "remove 'temperature' or 'reasoning_effort'.",
                        param: "temperature"
                    )
                }
            } else {
                guard temperature <= 1 else {
                    throw Self.unsupported(
                        "Anthropic's temperature ranges from 0 to 1, so \(literal.jsonString) cannot be expressed.",
                        param: "temperature"
                    )
                }
                body["temperature"] = literal
            }
        }
        if let topP = self.options.topP, let literal = self.field("top_p") {
            if thinking, topP < 0.95 {
                throw Self.unsupported("With extended thinking Anthropic accepts top_p only from 0.95 to 1.", param: "top_p")
            }
            body["top_p"] = literal
        }
        if let topK = self.field("top_k") {
            guard topK.intValue != nil else { throw .invalid("'top_k' must be an integer, not \(topK.typeName).", param: "top_k") }
            if thinking { throw Self.unsupported("Anthropic's extended thinking does not allow top_k.", param: "top_k") }
            body["top_k"] = topK
        }
    }

    // MARK: Helpers

    /// A top-level body field, `null` counting as absent.
    private func field(_ key: String) -> JSONValue? {
        guard let value = self.request.body[key], !value.isNull else { return nil }
        return value
    }

    private static func unsupported(_ message: String, param: String) -> TranslationError {
        TranslationError(.unsupportedFeature, message, param: param)
    }
}
