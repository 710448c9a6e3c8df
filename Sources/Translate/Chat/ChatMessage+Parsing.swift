//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension ChatMessage {
    /// Reads one OpenAI message object found at `path` (e.g. `messages[2]`).
    init(json: JSONValue, path: String) throws(TranslationError) {
        let reader = try FieldReader(json, path: path)
        let roleName = try reader.requiredString("role")
        guard let role = Role(rawValue: roleName) else {
            let known = Role.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalid("'\(roleName)' is not a valid role; expected one of \(known).", param: reader.param("role"))
        }
        self.init(
            role: role,
            content: try MessageContent(json: reader.optionalValue("content"), path: reader.param("content")),
            name: try reader.optionalString("name"),
            toolCalls: try Self.toolCalls(in: reader),
            toolCallID: try reader.optionalString("tool_call_id"),
            reasoningContent: try reader.optionalString("reasoning_content")
        )
        if role == .tool, self.toolCallID == nil {
            throw .invalid("A 'tool' message needs 'tool_call_id'.", param: reader.param("tool_call_id"))
        }
    }

    private static func toolCalls(in reader: FieldReader) throws(TranslationError) -> [ToolCall] {
        guard let elements = try reader.optionalArray("tool_calls") else { return [] }
        var calls: [ToolCall] = []
        for (index, element) in elements.enumerated() {
            let call = try FieldReader(element, path: reader.param("tool_calls[\(index)]"))
            guard let function = try call.optionalObject("function") else {
                throw .invalid("'\(call.param("function"))' is required.", param: call.param("function"))
            }
            calls.append(
                ToolCall(
                    id: try call.requiredString("id"),
                    name: try function.requiredString("name"),
                    arguments: try function.optionalString("arguments") ?? "{}"
                )
            )
        }
        return calls
    }
}

extension MessageContent {
    init(json: JSONValue?, path: String) throws(TranslationError) {
        switch json {
        case nil, .null?:
            self = .none
        case .string(let text)?:
            self = .text(text)
        case .array(let elements)?:
            var parts: [ContentPart] = []
            for (index, element) in elements.enumerated() {
                parts.append(try ContentPart(json: element, path: "\(path)[\(index)]"))
            }
            self = .parts(parts)
        case let value?:
            throw .invalid("'\(path)' must be a string or an array of content parts, not \(value.typeName).", param: path)
        }
    }
}

extension ContentPart {
    init(json: JSONValue, path: String) throws(TranslationError) {
        let reader = try FieldReader(json, path: path)
        let type = try reader.requiredString("type")
        switch type {
        case "text":
            self = .text(try reader.requiredString("text"))
        case "image_url":
            guard let image = try reader.optionalObject("image_url") else {
                throw .invalid("'\(reader.param("image_url"))' is required.", param: reader.param("image_url"))
            }
            self = .imageURL(url: try image.requiredString("url"), detail: try image.optionalString("detail"))
        default:
            self = .other(type: type, reader.object)
        }
    }
}
