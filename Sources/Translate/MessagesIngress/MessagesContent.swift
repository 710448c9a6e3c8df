//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Turns one Messages turn into Chat Completions messages.
///
/// A `user` turn's `tool_result` blocks become `tool` messages (first, as Chat Completions wants
/// them right after the calls), their text as content — prefixed `Error: ` when `is_error` —
/// and the images they hold join the turn's other blocks in a `user` message after them:
/// `text` → text, `image` (base64 or URL source) → `image_url`, `document` → a `file` part
/// (base64 PDF), text (plain-text or content source). An `assistant` turn's `text` blocks become
/// `content`, `thinking` blocks `reasoning_content` and `tool_use` blocks `tool_calls`
/// (`arguments` the compact JSON of `input`). `redacted_thinking` and citations are dropped;
/// any other block (a URL or file-id document, server tool blocks) is a 400 naming it.
enum MessagesContent {
    static func chatMessages(_ turn: JSONValue, path: String) throws(TranslationError) -> [JSONValue] {
        let reader = try FieldReader(turn, path: path)
        let role = try reader.requiredString("role")
        let blocks: [JSONValue]
        switch reader.optionalValue("content") {
        case .string(let text)?:
            guard role == "user" || role == "assistant" else { throw Self.badRole(role, path: reader.param("role")) }
            return [["role": .string(role), "content": .string(text)]]
        case .array(let elements)?:
            blocks = elements
        case let other:
            throw .invalid(
                "'\(reader.param("content"))' must be a string or an array of content blocks, not \(other?.typeName ?? "missing").",
                param: reader.param("content")
            )
        }
        switch role {
        case "user": return try Self.userMessages(blocks, path: reader.param("content"))
        case "assistant": return [try Self.assistantMessage(blocks, path: reader.param("content"))]
        default: throw Self.badRole(role, path: reader.param("role"))
        }
    }

    private static func badRole(_ role: String, path: String) -> TranslationError {
        .invalid("'\(role)' is not a valid role; expected user or assistant (the system prompt goes in 'system').", param: path)
    }

    // MARK: User turns

    private static func userMessages(_ blocks: [JSONValue], path: String) throws(TranslationError) -> [JSONValue] {
        var tools: [JSONValue] = []
        var parts: [JSONValue] = []
        for (index, element) in blocks.enumerated() {
            let block = try FieldReader(element, path: "\(path)[\(index)]")
            switch try block.requiredString("type") {
            case "tool_result":
                let (message, images) = try Self.toolResult(block)
                tools.append(message)
                parts += images
            default:
                parts += try Self.userPart(block)
            }
        }
        guard !parts.isEmpty else { return tools }
        let onlyText = parts.allSatisfy { $0["type"] == "text" }
        let content: JSONValue = onlyText ? .string(parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")) : .array(parts)
        return tools + [["role": "user", "content": content]]
    }

    /// A user block as Chat Completions content parts (none for an empty text).
    private static func userPart(_ block: FieldReader) throws(TranslationError) -> [JSONValue] {
        switch try block.requiredString("type") {
        case "text":
            return [["type": "text", "text": .string(try block.requiredString("text"))]]
        case "image":
            return [["type": "image_url", "image_url": ["url": .string(try Self.imageURL(block))]]]
        case "document":
            return [try Self.document(block)]
        case let type:
            throw Self.unsupported(type, at: block.param("type"))
        }
    }

    private static func imageURL(_ block: FieldReader) throws(TranslationError) -> String {
        guard let source = try block.optionalObject("source") else {
            throw .invalid("'\(block.param("source"))' is required.", param: block.param("source"))
        }
        switch try source.requiredString("type") {
        case "base64":
            return "data:\(try source.requiredString("media_type"));base64,\(try source.requiredString("data"))"
        case "url":
            return try source.requiredString("url")
        case let type:
            throw TranslationError(
                .unsupportedFeature,
                "Image sources of type '\(type)' can be sent only to Anthropic models.",
                param: source.param("type")
            )
        }
    }

    private static func document(_ block: FieldReader) throws(TranslationError) -> JSONValue {
        guard let source = try block.optionalObject("source") else {
            throw .invalid("'\(block.param("source"))' is required.", param: block.param("source"))
        }
        let title = try block.optionalString("title")
        switch try source.requiredString("type") {
        case "base64":
            let mediaType = try source.requiredString("media_type")
            let file: JSONObject = [
                "filename": .string(title ?? "document.pdf"),
                "file_data": .string("data:\(mediaType);base64,\(try source.requiredString("data"))"),
            ]
            return ["type": "file", "file": .object(file)]
        case "text":
            return ["type": "text", "text": .string(try source.requiredString("data"))]
        case "content":
            let text = try Self.text(of: source.optionalValue("content"), path: source.param("content"))
            return ["type": "text", "text": .string(text)]
        case let type:
            throw TranslationError(
                .unsupportedFeature,
                "Document sources of type '\(type)' can be sent only to Anthropic models.",
                param: source.param("type")
            )
        }
    }

    /// A `tool_result` as a `tool` message, and the images its content holds.
    private static func toolResult(_ block: FieldReader) throws(TranslationError) -> (JSONValue, [JSONValue]) {
        let id = try block.requiredString("tool_use_id")
        var texts: [String] = []
        var images: [JSONValue] = []
        switch block.optionalValue("content") {
        case nil: break
        case .string(let text)?: texts.append(text)
        case .array(let elements)?:
            for (index, element) in elements.enumerated() {
                let part = try FieldReader(element, path: block.param("content[\(index)]"))
                switch try part.requiredString("type") {
                case "text": texts.append(try part.requiredString("text"))
                case "image": images.append(["type": "image_url", "image_url": ["url": .string(try Self.imageURL(part))]])
                case let type: throw Self.unsupported(type, at: part.param("type"))
                }
            }
        case let other?:
            throw .invalid(
                "'\(block.param("content"))' must be a string or an array of blocks, not \(other.typeName).",
                param: block.param("content")
            )
        }
        var text = texts.joined(separator: "\n")
        if try block.optionalBool("is_error") == true { text = "Error: " + text }
        return (["role": "tool", "tool_call_id": .string(id), "content": .string(text)], images)
    }

    // MARK: Assistant turns

    private static func assistantMessage(_ blocks: [JSONValue], path: String) throws(TranslationError) -> JSONValue {
        var texts: [String] = []
        var reasoning: [String] = []
        var calls: [JSONValue] = []
        for (index, element) in blocks.enumerated() {
            let block = try FieldReader(element, path: "\(path)[\(index)]")
            switch try block.requiredString("type") {
            case "text": texts.append(try block.requiredString("text"))
            case "thinking": reasoning.append(try block.requiredString("thinking"))
            case "redacted_thinking": continue
            case "tool_use":
                let input = block.optionalValue("input") ?? [:]
                guard input.objectValue != nil else {
                    throw .invalid("'\(block.param("input"))' must be an object, not \(input.typeName).", param: block.param("input"))
                }
                let function: JSONObject = ["name": .string(try block.requiredString("name")), "arguments": .string(input.jsonString)]
                calls.append(["id": .string(try block.requiredString("id")), "type": "function", "function": .object(function)])
            case let type:
                throw Self.unsupported(type, at: block.param("type"))
            }
        }
        var message: JSONObject = ["role": "assistant", "content": texts.isEmpty && !calls.isEmpty ? .null : .string(texts.joined())]
        if !reasoning.isEmpty { message["reasoning_content"] = .string(reasoning.joined()) }
        if !calls.isEmpty { message["tool_calls"] = .array(calls) }
        return .object(message)
    }

    // MARK: Helpers

    /// The text of a string or an array of text blocks.
    private static func text(of value: JSONValue?, path: String) throws(TranslationError) -> String {
        switch value {
        case nil: return ""
        case .string(let text)?: return text
        case .array(let elements)?:
            var texts: [String] = []
            for (index, element) in elements.enumerated() {
                let part = try FieldReader(element, path: "\(path)[\(index)]")
                guard try part.requiredString("type") == "text" else {
                    throw Self.unsupported(try part.requiredString("type"), at: part.param("type"))
                }
                texts.append(try part.requiredString("text"))
            }
            return texts.joined(separator: "\n")
        case let other?:
            throw .invalid("'\(path)' must be a string or an array of text blocks, not \(other.typeName).", param: path)
        }
    }

    private static func unsupported(_ type: String, at path: String) -> TranslationError {
        TranslationError(.unsupportedFeature, "Content blocks of type '\(type)' can be sent only to Anthropic models.", param: path)
    }
}
