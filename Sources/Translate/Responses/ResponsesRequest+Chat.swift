//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension ResponsesRequest {
    /// Fields translated to the chat model (see ``chatRequest(history:)``).
    static let translatedFields: Set<String> = [
        "model", "input", "instructions", "stream", "max_output_tokens", "temperature", "top_p", "tools", "tool_choice",
        "parallel_tool_calls", "text", "reasoning", "user", "safety_identifier", "previous_response_id",
    ]
    /// Fields dropped in translation because the answer does not depend on them: the sidecar
    /// stores responses itself (`store`), echoes `metadata`, and has no server-side truncation,
    /// includes, caching hints or service tiers to apply.
    static let harmlessFields: Set<String> = [
        "store", "metadata", "include", "truncation", "prompt_cache_key", "service_tier", "background", "stream_options",
    ]

    /// A client-chosen name as an error message repeats it: its first 64 characters.
    static func echoed(_ name: String) -> String {
        name.count > 64 ? String(name.prefix(64)) + "…" : name
    }

    /// The built-in tools only OpenAI runs; a translated request using one is refused.
    static let builtInTools: Set<String> = [
        "web_search", "web_search_preview", "file_search", "code_interpreter", "computer_use_preview", "mcp", "image_generation",
        "local_shell",
    ]

    /// The request in the chat model, continuing `history` (the input and output items of the
    /// stored conversation `previous_response_id` names).
    ///
    /// `instructions` become the system message; message items their chat messages
    /// (`developer` as `system`, `input_text`/`output_text` as text, `input_image` as an image
    /// URL); `function_call` items the assistant's tool calls and `function_call_output` items
    /// tool messages; a `reasoning` item's summary the next assistant message's
    /// `reasoning_content`. `text.format` becomes `response_format`, `reasoning.effort`
    /// `reasoning_effort`, `max_output_tokens` `max_completion_tokens`.
    /// - Throws: 400 naming the field for what the chat model cannot express: no `model` or no
    ///   `input` (only a stored prompt at OpenAI supplies them), a field not in
    ///   ``translatedFields`` or ``harmlessFields``, `background: true`, a built-in tool, an item
    ///   type other than those above, a file referenced by id.
    public func chatRequest(history: [JSONObject]) throws(TranslationError) -> ChatRequest {
        guard let model = self.model else {
            throw .invalid("'model' is required for this provider.", param: "model")
        }
        guard !self.input.isEmpty else {
            throw .invalid("'input' is required for this provider.", param: "input")
        }
        for key in self.body.keys where !Self.translatedFields.contains(key) && !Self.harmlessFields.contains(key) {
            let name = Self.echoed(key)
            throw TranslationError(.unsupportedFeature, "'\(name)' cannot be translated for this model's provider.", param: name)
        }
        if self.background {
            throw TranslationError(.unsupportedFeature, "Background responses need a provider that speaks the Responses API.", param: "background")
        }
        var chat: JSONObject = ["model": .string(model), "stream": .bool(self.stream)]
        if self.stream { chat["stream_options"] = ["include_usage": true] }
        var messages = ChatMessages()
        if let instructions = self.instructions { messages.append(["role": "system", "content": .string(instructions)]) }
        for (index, item) in history.enumerated() { try messages.add(item, path: "previous_response_id (item \(index))") }
        for (index, item) in self.input.enumerated() { try messages.add(item, path: "input[\(index)]") }
        chat["messages"] = .array(messages.finished().map(JSONValue.object))
        if let limit = self.maxOutputTokens { chat["max_completion_tokens"] = .int(limit) }
        for key in ["temperature", "top_p", "parallel_tool_calls"] { chat[key] = self.body[key] }
        chat["user"] = self.body["safety_identifier"] ?? self.body["user"]
        try self.translateTools(into: &chat)
        try self.translateOptions(into: &chat)
        return try ChatRequest(object: chat.droppingNulls())
    }

    private func translateTools(into chat: inout JSONObject) throws(TranslationError) {
        let reader = FieldReader(object: self.body)
        if let tools = try reader.optionalArray("tools") {
            var translated: [JSONValue] = []
            for index in tools.indices {
                let tool = try FieldReader(tools[index], path: "tools[\(index)]")
                let type = try tool.requiredString("type")
                guard type == "function" else {
                    let what =
                        Self.builtInTools.contains(type)
                        ? "The built-in tool '\(type)' runs only at OpenAI" : "The tool type '\(Self.echoed(type))' is unknown"
                    throw TranslationError(.unsupportedFeature, "\(what); this model's provider cannot use it.", param: tool.param("type"))
                }
                var function: JSONObject = ["name": .string(try tool.requiredString("name"))]
                for key in ["description", "parameters", "strict"] { function[key] = tool.object[key] }
                translated.append(["type": "function", "function": .object(function.droppingNulls())])
            }
            if !translated.isEmpty { chat["tools"] = .array(translated) }
        }
        switch self.body["tool_choice"] {
        case .object(let choice)?:
            guard choice["type"]?.stringValue == "function", let name = choice["name"] else {
                throw TranslationError(.unsupportedFeature, "Only function tool choices can be translated.", param: "tool_choice")
            }
            chat["tool_choice"] = ["type": "function", "function": ["name": name]]
        case let choice?:
            chat["tool_choice"] = choice
        case nil:
            break
        }
    }

    private func translateOptions(into chat: inout JSONObject) throws(TranslationError) {
        if let effort = self.body["reasoning"]?["effort"], effort != .null { chat["reasoning_effort"] = effort }
        guard let format = self.body["text"]?["format"], format != .null else { return }
        switch format["type"]?.stringValue {
        case "json_schema":
            var schema: JSONObject = [:]
            for key in ["name", "schema", "strict", "description"] { schema[key] = format[key] }
            chat["response_format"] = ["type": "json_schema", "json_schema": .object(schema.droppingNulls())]
        case "json_object":
            chat["response_format"] = ["type": "json_object"]
        case "text":
            break
        default:
            throw .invalid("'text.format.type' must be text, json_object or json_schema.", param: "text.format.type")
        }
    }
}

/// Chat messages built from Responses items, merging consecutive assistant output (a message
/// and its function calls) into one assistant message.
private struct ChatMessages {
    private var messages: [JSONObject] = []
    /// A reasoning summary waiting for the assistant message it belongs to.
    private var reasoning: String?
    /// Whether the last message is an assistant message tool calls can still join.
    private var assistantOpen = false

    mutating func append(_ message: JSONObject) {
        self.messages.append(message)
        self.assistantOpen = false
    }

    func finished() -> [JSONObject] { self.messages }

    mutating func add(_ item: JSONObject, path: String) throws(TranslationError) {
        let reader = FieldReader(object: item, path: path)
        let type = try reader.optionalString("type") ?? "message"
        switch type {
        case "message":
            try self.addMessage(reader)
        case "function_call":
            var call: JSONObject = [
                "id": .string(try reader.requiredString("call_id")), "type": "function",
                "function": ["name": .string(try reader.requiredString("name")), "arguments": .string(try reader.requiredString("arguments"))],
            ]
            call["extra_content"] = item["extra_content"]
            if !self.assistantOpen { self.openAssistant(content: .null) }
            var last = self.messages.removeLast()
            last["tool_calls"] = .array((last["tool_calls"]?.arrayValue ?? []) + [.object(call)])
            self.messages.append(last)
        case "function_call_output":
            let output: String
            switch item["output"] {
            case .string(let text)?: output = text
            case .array(let parts)?: output = parts.compactMap { $0["text"]?.stringValue }.joined()
            default: throw .invalid("'\(reader.param("output"))' must be a string or an array of parts.", param: reader.param("output"))
            }
            self.append(["role": "tool", "tool_call_id": .string(try reader.requiredString("call_id")), "content": .string(output)])
        case "reasoning":
            let texts = (item["summary"]?.arrayValue ?? []) + (item["content"]?.arrayValue ?? [])
            let text = texts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
            if !text.isEmpty { self.reasoning = (self.reasoning.map { $0 + "\n" } ?? "") + text }
        default:
            throw TranslationError(
                .unsupportedFeature,
                "Input items of type '\(ResponsesRequest.echoed(type))' cannot be translated for this model's provider.",
                param: reader.param("type")
            )
        }
    }

    private mutating func addMessage(_ reader: FieldReader) throws(TranslationError) {
        let role = try reader.requiredString("role")
        guard ["user", "system", "developer", "assistant"].contains(role) else {
            throw .invalid("'\(role)' is not a valid role; expected user, system, developer or assistant.", param: reader.param("role"))
        }
        let content = try Self.content(of: reader, assistant: role == "assistant")
        if role == "assistant" {
            self.openAssistant(content: content)
        } else {
            self.append(["role": .string(role == "developer" ? "system" : role), "content": content])
        }
    }

    private mutating func openAssistant(content: JSONValue) {
        var message: JSONObject = ["role": "assistant", "content": content]
        if let reasoning = self.reasoning { message["reasoning_content"] = .string(reasoning) }
        self.reasoning = nil
        self.messages.append(message)
        self.assistantOpen = true
    }

    /// A message's content in chat form: a string, or one text part, as a string; other parts as
    /// text and image parts (an assistant's as one string).
    private static func content(of reader: FieldReader, assistant: Bool) throws(TranslationError) -> JSONValue {
        switch reader.optionalValue("content") {
        case .string(let text)?:
            return .string(text)
        case .array(let parts)?:
            var translated: [JSONValue] = []
            for index in parts.indices {
                translated.append(try Self.part(try FieldReader(parts[index], path: reader.param("content") + "[\(index)]")))
            }
            // One text part is the same message as its text (as `input_items` lists a string input).
            if translated.count == 1, let text = translated[0]["text"]?.stringValue { return .string(text) }
            guard assistant else { return .array(translated) }
            return .string(translated.compactMap { $0["text"]?.stringValue }.joined())
        case let value:
            throw .invalid(
                "'\(reader.param("content"))' must be a string or an array of parts, not \(value?.typeName ?? "missing").",
                param: reader.param("content")
            )
        }
    }

    private static func part(_ reader: FieldReader) throws(TranslationError) -> JSONValue {
        switch try reader.requiredString("type") {
        case "input_text", "output_text", "text":
            return ["type": "text", "text": .string(try reader.requiredString("text"))]
        case "refusal":
            return ["type": "text", "text": .string(try reader.requiredString("refusal"))]
        case "input_image":
            guard let url = try reader.optionalString("image_url") else {
                throw TranslationError(
                    .unsupportedFeature,
                    "Images must be sent as image_url (a URL or data URL) for this model's provider.",
                    param: reader.param("image_url")
                )
            }
            var image: JSONObject = ["url": .string(url)]
            if let detail = try reader.optionalString("detail") { image["detail"] = .string(detail) }
            return ["type": "image_url", "image_url": .object(image)]
        case "input_file":
            guard let data = try reader.optionalString("file_data") else {
                throw TranslationError(
                    .unsupportedFeature,
                    "Files must be sent inline as file_data for this model's provider.",
                    param: reader.param("file_data")
                )
            }
            var file: JSONObject = ["file_data": .string(data)]
            if let name = try reader.optionalString("filename") { file["filename"] = .string(name) }
            return ["type": "file", "file": .object(file)]
        case let type:
            throw TranslationError(
                .unsupportedFeature,
                "Content parts of type '\(ResponsesRequest.echoed(type))' cannot be translated.",
                param: reader.param("type")
            )
        }
    }
}

extension JSONObject {
    /// The object without its `null` members.
    func droppingNulls() -> JSONObject {
        JSONObject(self.lazy.filter { $0.value != .null }.map { ($0.key, $0.value) })
    }
}
