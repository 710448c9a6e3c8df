//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One entry of a Chat Completions `messages` array, in canonical form.
public struct ChatMessage: Sendable, Hashable {
    /// Who wrote the message. `developer` is OpenAI's newer name for `system`.
    public enum Role: String, Sendable, Hashable, CaseIterable {
        case system
        case developer
        case user
        case assistant
        case tool
        case function
    }

    public var role: Role
    public var content: MessageContent
    /// The optional participant name (`name`).
    public var name: String?
    /// Calls the assistant asked for (assistant messages only).
    public var toolCalls: [ToolCall]
    /// The call this message answers (tool messages only).
    public var toolCallID: String?
    /// Chain-of-thought text that DeepSeek, Qwen and the native dialects return beside `content`.
    public var reasoningContent: String?

    public init(
        role: Role,
        content: MessageContent,
        name: String? = nil,
        toolCalls: [ToolCall] = [],
        toolCallID: String? = nil,
        reasoningContent: String? = nil
    ) {
        self.role = role
        self.content = content
        self.name = name
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.reasoningContent = reasoningContent
    }
}

/// A message's `content`: absent/null, a plain string, or an array of typed parts.
public enum MessageContent: Sendable, Hashable {
    case none
    case text(String)
    case parts([ContentPart])

    /// The text of the content: the string itself, or every text part joined by newlines.
    public var text: String {
        switch self {
        case .none: ""
        case .text(let text): text
        case .parts(let parts): parts.compactMap(\.text).joined(separator: "\n")
        }
    }
}

/// One element of an array `content`.
public enum ContentPart: Sendable, Hashable {
    case text(String)
    /// An image by URL: an `https:` address or a `data:<mime>;base64,<data>` URL.
    case imageURL(url: String, detail: String?)
    /// Any other part type (`input_audio`, `file`, …), kept as sent.
    case other(type: String, JSONObject)

    public var text: String? {
        if case .text(let text) = self { return text }
        return nil
    }
}

/// A function call requested by the assistant.
public struct ToolCall: Sendable, Hashable {
    public var id: String
    public var name: String
    /// The arguments as a JSON-encoded string, exactly as OpenAI transmits them.
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// A function the model may call (`tools[].function`).
public struct ToolDefinition: Sendable, Hashable {
    public var name: String
    public var description: String?
    /// The JSON Schema of the arguments object.
    public var parameters: JSONValue?
    public var strict: Bool?

    public init(name: String, description: String? = nil, parameters: JSONValue? = nil, strict: Bool? = nil) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.strict = strict
    }
}
