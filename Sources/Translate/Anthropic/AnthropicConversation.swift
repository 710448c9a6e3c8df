//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// An OpenAI `messages` array as Anthropic wants it: a top-level `system` and alternating
/// `user` / `assistant` turns of content blocks.
///
/// - `system` and `developer` messages, wherever they stand, become `system` text blocks in order.
/// - Consecutive messages of the same Anthropic role are merged into one turn (Anthropic needs
///   alternation); `tool` messages are `user` turns of `tool_result` blocks, which go first in
///   their turn as Anthropic requires.
/// - A conversation may start with an `assistant` turn: the API has accepted that since October
///   2024, so nothing is inserted (inventing a user turn would change the conversation).
/// - Empty text (`""`, `null` content) is left out, because Anthropic rejects empty text blocks;
///   a message left with nothing is dropped.
/// - `cache_control` on a content part, or on a message (which applies to its last block), is
///   kept: an extension some OpenAI clients use for Anthropic prompt caching.
struct AnthropicConversation {
    var system: [JSONValue] = []
    var turns: [Turn] = []

    struct Turn {
        var role: String
        /// `tool_result` blocks, which Anthropic wants before anything else in a user turn.
        var toolResults: [JSONValue] = []
        var blocks: [JSONValue] = []

        var json: JSONValue {
            ["role": .string(self.role), "content": .array(self.toolResults + self.blocks)]
        }

        var containsToolUse: Bool {
            self.blocks.contains { $0["type"] == "tool_use" }
        }
    }

    /// Which content parts a kind of message may carry on Anthropic.
    private enum Place {
        case system
        case user
        case assistant
        case toolResult

        var allowsImages: Bool { self == .user || self == .toolResult }
    }

    init(_ request: ChatRequest) throws(TranslationError) {
        let rawMessages = request.body["messages"]?.arrayValue ?? []
        for (index, message) in request.messages.enumerated() {
            let path = "messages[\(index)]"
            let raw = rawMessages.indices.contains(index) ? rawMessages[index] : [:]
            for key in ["audio", "function_call"] where raw[key].map({ !$0.isNull }) ?? false {
                throw TranslationError(
                    .unsupportedFeature,
                    "Anthropic cannot replay an assistant '\(key)'; send the conversation as text and tool_calls.",
                    param: "\(path).\(key)"
                )
            }
            switch message.role {
            case .system, .developer:
                self.system += try Self.blocks(of: message.content, raw: raw, path: path, place: .system)
            case .user:
                self.append(Turn(role: "user", blocks: try Self.blocks(of: message.content, raw: raw, path: path, place: .user)))
            case .assistant:
                var blocks = try Self.blocks(of: message.content, raw: raw, path: path, place: .assistant, applyingMessageCache: false)
                for (callIndex, call) in message.toolCalls.enumerated() {
                    blocks.append(try Self.toolUse(call, param: "\(path).tool_calls[\(callIndex)].function.arguments"))
                }
                Self.applyCacheControl(raw["cache_control"], toLastOf: &blocks)
                self.append(Turn(role: "assistant", blocks: blocks))
            case .tool:
                var result: JSONObject = ["type": "tool_result", "tool_use_id": .string(message.toolCallID ?? "")]
                let content = try Self.blocks(of: message.content, raw: raw, path: path, place: .toolResult, applyingMessageCache: false)
                if !content.isEmpty { result["content"] = .array(content) }
                var results = [JSONValue.object(result)]
                Self.applyCacheControl(raw["cache_control"], toLastOf: &results)
                self.append(Turn(role: "user", toolResults: results))
            case .function:
                throw TranslationError(
                    .unsupportedFeature,
                    "The deprecated 'function' role cannot be sent to Anthropic; use 'tool' messages with tool_call_id.",
                    param: "\(path).role"
                )
            }
        }
        guard !self.turns.isEmpty else {
            throw TranslationError(
                .invalidRequest,
                "Anthropic needs at least one user or assistant message with content besides the system prompt.",
                param: "messages"
            )
        }
    }

    /// Whether the last assistant turn calls tools. Anthropic then wants it to start with the
    /// signed thinking block it produced, which OpenAI clients cannot send back.
    var lastAssistantTurnCallsTools: Bool {
        self.turns.last { $0.role == "assistant" }?.containsToolUse ?? false
    }

    private mutating func append(_ turn: Turn) {
        guard !turn.toolResults.isEmpty || !turn.blocks.isEmpty else { return }
        if let last = self.turns.indices.last, self.turns[last].role == turn.role {
            self.turns[last].toolResults += turn.toolResults
            self.turns[last].blocks += turn.blocks
        } else {
            self.turns.append(turn)
        }
    }

    // MARK: Content

    private static func blocks(
        of content: MessageContent,
        raw: JSONValue,
        path: String,
        place: Place,
        applyingMessageCache: Bool = true
    ) throws(TranslationError) -> [JSONValue] {
        var blocks: [JSONValue] = []
        switch content {
        case .none:
            break
        case .text(let text):
            if !text.isEmpty { blocks.append(Self.text(text)) }
        case .parts(let parts):
            let rawParts = raw["content"]?.arrayValue ?? []
            for (partIndex, part) in parts.enumerated() {
                let partPath = "\(path).content[\(partIndex)]"
                guard var block = try Self.block(for: part, path: partPath, place: place) else { continue }
                if let cache = rawParts.indices.contains(partIndex) ? rawParts[partIndex]["cache_control"] : nil, !cache.isNull {
                    block["cache_control"] = cache
                }
                blocks.append(.object(block))
            }
        }
        if applyingMessageCache { Self.applyCacheControl(raw["cache_control"], toLastOf: &blocks) }
        return blocks
    }

    private static func block(for part: ContentPart, path: String, place: Place) throws(TranslationError) -> JSONObject? {
        switch part {
        case .text(let text):
            return text.isEmpty ? nil : ["type": "text", "text": .string(text)]
        case .imageURL(let url, _):
            guard place.allowsImages else { throw Self.unsupportedPart("image_url", path: path, place: place) }
            return ["type": "image", "source": Self.source(try ImageSource(url: url, param: "\(path).image_url.url"))]
        case .other(type: "refusal", let object) where place == .assistant:
            let text = object["refusal"]?.stringValue ?? ""
            return text.isEmpty ? nil : ["type": "text", "text": .string(text)]
        case .other(type: "file", let object) where place == .user:
            return try Self.document(object, path: path)
        case .other(let type, _):
            throw Self.unsupportedPart(type, path: path, place: place)
        }
    }

    private static func unsupportedPart(_ type: String, path: String, place: Place) -> TranslationError {
        let location: String
        switch place {
        case .system: location = "system prompts, which take only text"
        case .user: location = "user messages"
        case .assistant: location = "assistant messages, which take only text and tool calls"
        case .toolResult: location = "tool results, which take only text and images"
        }
        return TranslationError(.unsupportedFeature, "Anthropic does not accept '\(type)' content parts in \(location).", param: "\(path).type")
    }

    private static func source(_ image: ImageSource) -> JSONValue {
        switch image {
        case .base64(let mediaType, let data):
            ["type": "base64", "media_type": .string(mediaType), "data": .string(data)]
        case .url(let url):
            ["type": "url", "url": .string(url)]
        }
    }

    /// An OpenAI `file` part (`{"file":{"file_data","filename"}}`) as a `document` block.
    private static func document(_ part: JSONObject, path: String) throws(TranslationError) -> JSONObject {
        let file = JSONValue.object(part)["file"]
        guard let data = file?["file_data"]?.stringValue else {
            throw TranslationError(
                .unsupportedFeature,
                "Anthropic cannot read OpenAI file ids; send the file inline as 'file_data'.",
                param: "\(path).file.file_id"
            )
        }
        let filename = file?["filename"]?.stringValue
        let source: ImageSource
        if data.hasPrefix("data:") {
            source = try ImageSource(url: data, param: "\(path).file.file_data")
        } else {
            source = .base64(mediaType: filename.flatMap(ImageSource.mediaType(forURL:)) ?? "application/pdf", data: data)
        }
        var document: JSONObject = ["type": "document", "source": Self.source(source)]
        if let filename { document["title"] = .string(filename) }
        return document
    }

    private static func text(_ text: String) -> JSONValue {
        ["type": "text", "text": .string(text)]
    }

    private static func toolUse(_ call: ToolCall, param: String) throws(TranslationError) -> JSONValue {
        let input: JSONValue
        if call.arguments.allSatisfy(\.isWhitespace) {
            input = [:]
        } else {
            guard let parsed = try? JSONValue.parse(call.arguments), parsed.objectValue != nil else {
                throw TranslationError(.invalidRequest, "'\(param)' must be a JSON object encoded as a string.", param: param)
            }
            input = parsed
        }
        return ["type": "tool_use", "id": .string(call.id), "name": .string(call.name), "input": input]
    }

    private static func applyCacheControl(_ cache: JSONValue?, toLastOf blocks: inout [JSONValue]) {
        guard let cache, !cache.isNull, let last = blocks.indices.last else { return }
        blocks[last]["cache_control"] = cache
    }
}
