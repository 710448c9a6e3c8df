//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Builds a `generateContent` body from a Chat Completions request.
struct GeminiRequestEncoder {
    let request: ChatRequest
    let target: UpstreamTarget
    let dialect: GeminiDialect

    /// Thinking budgets per `reasoning_effort`. `minimal` is the smallest budget every thinking
    /// 2.5 model accepts, `high` the largest 2.5 Flash accepts (2.5 Pro allows 32,768);
    /// `none` turns thinking off where the model allows it (Flash, Flash-Lite).
    static let thinkingBudgets: [String: Int] = ["none": 0, "minimal": 128, "low": 1024, "medium": 8192, "high": 24_576]

    func body() throws(TranslationError) -> JSONObject {
        try OpenAIOnlyFields.reject(in: self.request.body, provider: "Gemini")
        var body = JSONObject()
        let (system, contents) = try self.contents()
        body["contents"] = .array(contents)
        if !system.isEmpty {
            // The role is ignored; the SDK sends "user" (as in the recorded traffic).
            body["systemInstruction"] = ["parts": .array(system), "role": "user"]
        }
        let declarations = try self.functionDeclarations()
        if !declarations.isEmpty {
            body["tools"] = [["functionDeclarations": .array(declarations)]]
            if let toolConfig = self.toolConfig() { body["toolConfig"] = toolConfig }
        }
        let generationConfig = try self.generationConfig()
        if !generationConfig.isEmpty { body["generationConfig"] = .object(generationConfig) }
        return body
    }

    // MARK: Contents

    /// The system parts and the `contents` turns, consecutive same-role turns merged.
    private func contents() throws(TranslationError) -> (system: [JSONValue], contents: [JSONValue]) {
        var system: [JSONValue] = []
        var turns: [(role: String, parts: [JSONValue])] = []
        var callNames: [String: String] = [:]
        func append(_ role: String, _ parts: [JSONValue]) {
            guard !parts.isEmpty else { return }
            if turns.last?.role == role {
                turns[turns.count - 1].parts.append(contentsOf: parts)
            } else {
                turns.append((role, parts))
            }
        }
        let rawMessages = self.request.body["messages"]?.arrayValue ?? []
        for (index, message) in self.request.messages.enumerated() {
            let path = "messages[\(index)]"
            switch message.role {
            case .system, .developer:
                system.append(contentsOf: try Self.textParts(message.content, path: "\(path).content"))
            case .user:
                append("user", try Self.userParts(message.content, path: "\(path).content"))
            case .assistant:
                var parts = try Self.textParts(message.content, path: "\(path).content")
                parts.append(
                    contentsOf: try self.functionCallParts(message, raw: rawMessages.indices.contains(index) ? rawMessages[index] : nil, path: path)
                )
                for call in message.toolCalls { callNames[call.id] = call.name }
                append("model", parts)
            case .tool:
                let id = message.toolCallID ?? ""
                guard let name = callNames[id] else {
                    throw .invalid(
                        "'\(path).tool_call_id' (\(id)) does not answer any tool call of an earlier assistant message.",
                        param: "\(path).tool_call_id"
                    )
                }
                let text = try Self.plainText(message.content, path: "\(path).content")
                let result = (try? JSONValue.parse(text)) ?? .string(text)
                append("user", [["functionResponse": ["id": .string(id), "name": .string(name), "response": ["result": result]]]])
            case .function:
                throw TranslationError(
                    .unsupportedFeature,
                    "The legacy 'function' role is not supported for Gemini; use 'tool' messages.",
                    param: "\(path).role"
                )
            }
        }
        return (system, turns.map { ["role": .string($0.role), "parts": .array($0.parts)] })
    }

    /// `functionCall` parts for an assistant's tool calls, with the thought signature the client
    /// echoed in `extra_content.google.thought_signature` (or the configured stand-in).
    private func functionCallParts(_ message: ChatMessage, raw: JSONValue?, path: String) throws(TranslationError) -> [JSONValue] {
        var parts: [JSONObject] = []
        var signed = false
        for (index, call) in message.toolCalls.enumerated() {
            let argumentsPath = "\(path).tool_calls[\(index)].function.arguments"
            let arguments: JSONValue
            if call.arguments.allSatisfy(\.isWhitespace) {
                arguments = [:]
            } else if case .object(let object)? = try? JSONValue.parse(call.arguments) {
                arguments = .object(object)
            } else {
                throw .invalid("'\(argumentsPath)' must be a JSON object encoded as a string.", param: argumentsPath)
            }
            var part: JSONObject = ["functionCall": ["id": .string(call.id), "name": .string(call.name), "args": arguments]]
            if let signature = raw?["tool_calls"]?[index]?["extra_content"]?["google"]?["thought_signature"]?.stringValue {
                part["thoughtSignature"] = .string(signature)
                signed = true
            }
            parts.append(part)
        }
        if !signed, !parts.isEmpty, let standIn = self.dialect.unsignedFunctionCallSignature {
            parts[0]["thoughtSignature"] = .string(standIn)
        }
        return parts.map(JSONValue.object)
    }

    /// Text parts of a system or assistant message (only text is allowed there).
    private static func textParts(_ content: MessageContent, path: String) throws(TranslationError) -> [JSONValue] {
        switch content {
        case .none: return []
        case .text(let text): return text.isEmpty ? [] : [["text": .string(text)]]
        case .parts(let parts):
            var output: [JSONValue] = []
            for (index, part) in parts.enumerated() {
                guard case .text(let text) = part else { throw Self.onlyText(path: "\(path)[\(index)]") }
                if !text.isEmpty { output.append(["text": .string(text)]) }
            }
            return output
        }
    }

    /// The text of a tool message (text parts joined by newlines).
    private static func plainText(_ content: MessageContent, path: String) throws(TranslationError) -> String {
        if case .parts(let parts) = content, let index = parts.firstIndex(where: { $0.text == nil }) {
            throw Self.onlyText(path: "\(path)[\(index)]")
        }
        return content.text
    }

    private static func onlyText(path: String) -> TranslationError {
        TranslationError(.unsupportedFeature, "Only text content is supported here for Gemini.", param: path)
    }

    /// A user message's parts: text, images (`inlineData` / `fileData`), `input_audio` and
    /// `file` data URLs (`inlineData`).
    private static func userParts(_ content: MessageContent, path: String) throws(TranslationError) -> [JSONValue] {
        guard case .parts(let parts) = content else { return try Self.textParts(content, path: path) }
        var output: [JSONValue] = []
        for (index, part) in parts.enumerated() {
            let partPath = "\(path)[\(index)]"
            switch part {
            case .text(let text):
                if !text.isEmpty { output.append(["text": .string(text)]) }
            case .imageURL(let url, _):
                output.append(try Self.mediaPart(url: url, param: "\(partPath).image_url.url"))
            case .other(type: "input_audio", let object):
                let reader = try FieldReader(.object(object), path: partPath)
                guard let audio = try reader.optionalObject("input_audio") else {
                    throw .invalid("'\(reader.param("input_audio"))' is required.", param: reader.param("input_audio"))
                }
                let format = try audio.requiredString("format")
                output.append(["inlineData": ["mimeType": .string("audio/\(format)"), "data": .string(try audio.requiredString("data"))]])
            case .other(type: "file", let object):
                let reader = try FieldReader(.object(object), path: partPath)
                guard let fileData = try reader.optionalObject("file")?.optionalString("file_data") else {
                    throw TranslationError(
                        .unsupportedFeature,
                        "Gemini needs files inline as 'file.file_data' data URLs; uploaded file ids cannot be forwarded.",
                        param: "\(partPath).file"
                    )
                }
                output.append(try Self.mediaPart(url: fileData, param: "\(partPath).file.file_data"))
            case .other(let type, _):
                throw TranslationError(.unsupportedFeature, "Content parts of type '\(type)' are not supported for Gemini.", param: partPath)
            }
        }
        return output
    }

    private static func mediaPart(url: String, param: String) throws(TranslationError) -> JSONValue {
        switch try ImageSource(url: url, param: param) {
        case .base64(let mediaType, let data):
            return ["inlineData": ["mimeType": .string(mediaType), "data": .string(data)]]
        case .url(let url):
            guard let mediaType = ImageSource.mediaType(forURL: url) else {
                throw TranslationError(
                    .unsupportedFeature,
                    "Gemini needs the media type of a remote file, and it cannot be told from this URL's extension; send the file as a base64 data URL.",
                    param: param
                )
            }
            return ["fileData": ["mimeType": .string(mediaType), "fileUri": .string(url)]]
        }
    }

    // MARK: Tools

    private func functionDeclarations() throws(TranslationError) -> [JSONValue] {
        // ChatRequest skips non-function tools; Gemini's built-in tools have no OpenAI spelling.
        for (index, tool) in (self.request.body["tools"]?.arrayValue ?? []).enumerated() where tool["function"] == nil {
            throw TranslationError(.unsupportedFeature, "Only function tools are supported for Gemini.", param: "tools[\(index)]")
        }
        var declarations: [JSONValue] = []
        for (index, tool) in self.request.tools.enumerated() {
            var declaration: JSONObject = ["name": .string(tool.name)]
            if let description = tool.description { declaration["description"] = .string(description) }
            if let parameters = tool.parameters {
                switch try GeminiSchema.functionParameters(parameters, path: "tools[\(index)].function.parameters") {
                case .omitted: break
                case .schema(let schema): declaration["parameters"] = .object(schema)
                case .jsonSchema(let schema): declaration["parametersJsonSchema"] = schema
                }
            }
            declarations.append(.object(declaration))
        }
        return declarations
    }

    private func toolConfig() -> JSONValue? {
        switch self.request.options.toolChoice {
        case nil: return nil
        case .auto?: return ["functionCallingConfig": ["mode": "AUTO"]]
        case .none?: return ["functionCallingConfig": ["mode": "NONE"]]
        case .required?: return ["functionCallingConfig": ["mode": "ANY"]]
        case .function(let name)?: return ["functionCallingConfig": ["mode": "ANY", "allowedFunctionNames": [.string(name)]]]
        }
    }

    // MARK: Generation config

    private func generationConfig() throws(TranslationError) -> JSONObject {
        let options = self.request.options
        var config = JSONObject()
        if let limit = self.request.maxOutputTokens ?? self.target.maxOutputTokens { config["maxOutputTokens"] = .int(limit) }
        if let temperature = options.temperature { config["temperature"] = self.number("temperature", temperature) }
        if let topP = options.topP { config["topP"] = self.number("top_p", topP) }
        if let topK = self.request.body["top_k"], topK.intValue != nil { config["topK"] = topK }
        if !options.stop.isEmpty { config["stopSequences"] = .array(options.stop.map(JSONValue.string)) }
        if let seed = options.seed { config["seed"] = .int(seed) }
        if let count = options.choiceCount, count != 1 { config["candidateCount"] = .int(count) }
        // Penalties only when set: several Gemini models reject the fields outright, and many
        // clients send an explicit 0.
        for (openAI, gemini) in [("presence_penalty", "presencePenalty"), ("frequency_penalty", "frequencyPenalty")] {
            if let value = self.request.body[openAI], let number = value.doubleValue, number != 0 { config[gemini] = value }
        }
        switch options.responseFormat {
        case nil, .text?: break
        case .jsonObject?:
            config["responseMimeType"] = "application/json"
        case .jsonSchema(_, let schema, _)?:
            config["responseMimeType"] = "application/json"
            switch try GeminiSchema.responseSchema(schema, path: "response_format.json_schema.schema") {
            case .omitted: break
            case .schema(let schema): config["responseSchema"] = .object(schema)
            case .jsonSchema(let schema): config["responseJsonSchema"] = schema
            }
        }
        if let effort = options.reasoningEffort {
            guard let budget = Self.thinkingBudgets[effort] else {
                let known = Self.thinkingBudgets.sorted { $0.value < $1.value }.map(\.key).joined(separator: ", ")
                throw .invalid("'reasoning_effort' must be one of \(known), not '\(effort)'.", param: "reasoning_effort")
            }
            config["thinkingConfig"] = ["thinkingBudget": .int(budget), "includeThoughts": .bool(budget > 0)]
        }
        return config
    }

    /// The client's number literal when it sent one (so `0.70` stays `0.70`).
    private func number(_ key: String, _ value: Double) -> JSONValue {
        if let literal = self.request.body[key], literal.doubleValue != nil { return literal }
        return .number(JSONNumber(value))
    }
}
