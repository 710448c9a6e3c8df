//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A client's Anthropic Messages request (`POST /v1/messages`): the body as sent, a validated
/// view of what the sidecar routes and bills by, and its translation to the canonical
/// ``ChatRequest`` for every provider that does not speak Messages itself.
///
/// Parsing checks only what the sidecar relies on for every target — `model` (a string),
/// `max_tokens` (required, 1 to ``ChatRequest/maximumOutputTokens``), `stream`,
/// `metadata.task_type` — so that an Anthropic provider receives every field it knows, newer
/// ones included. The translation (``MessagesToChat``) checks the rest; its 400, naming the
/// field, is thrown by ``chatRequest(for:)`` when the request goes to another provider.
public struct MessagesRequest: Sendable {
    /// The request object as received, without the sidecar's own `metadata.task_type`.
    public var body: JSONObject
    public var model: String
    /// `max_tokens`, which Anthropic requires.
    public var maxTokens: Int
    public var stream: Bool
    /// `metadata.task_type`: the sidecar's task type, used for routing and removed before
    /// the request is forwarded (Anthropic accepts only `metadata.user_id`).
    public var taskType: String?
    /// The translation, or why there is none.
    private let translation: Result<MessagesToChat.Translation, TranslationError>
    /// The canonical request, for token estimates and billing whatever the target: the
    /// translation, or — when the request holds what only Anthropic understands — one user
    /// message holding the texts of its `system`, `messages` and `tools`.
    public let chat: ChatRequest

    /// Parses and validates a request body.
    /// - Parameter counting: a `count_tokens` body, which has no `max_tokens` (1 is assumed).
    /// - Throws: ``TranslationError/Code/invalidRequest`` naming the field.
    public init(
        parsing bytes: some Collection<UInt8>,
        counting: Bool = false,
        maximumDepth: Int = JSONValue.defaultMaximumDepth
    ) throws(TranslationError) {
        let object = try JSONObject(requestBody: bytes, maximumDepth: maximumDepth)
        try self.init(object: object, counting: counting)
    }

    /// Validates an already parsed request object. See ``init(parsing:counting:maximumDepth:)``.
    public init(object: JSONObject, counting: Bool = false) throws(TranslationError) {
        let reader = FieldReader(object: object)
        self.model = try reader.requiredString("model")
        let limit = try reader.optionalCount("max_tokens", from: 1, to: ChatRequest.maximumOutputTokens) ?? (counting ? 1 : nil)
        guard let maxTokens = limit else {
            throw .invalid("'max_tokens' is required.", param: "max_tokens")
        }
        self.maxTokens = maxTokens
        self.stream = try reader.optionalBool("stream") ?? false
        var body = object
        self.taskType = try Self.takeTaskType(from: &body, reader: reader)
        self.body = body
        do throws(TranslationError) {
            let translation = try MessagesToChat(reader: FieldReader(object: body), maxTokens: maxTokens, stream: self.stream).translation()
            self.chat = try ChatRequest(object: translation.body)
            self.translation = .success(translation)
        } catch {
            self.translation = .failure(error)
            self.chat = try Self.digest(of: body, model: self.model)
        }
    }

    /// The canonical request for a provider of `dialect`, with the Messages controls Chat
    /// Completions lacks carried the way that dialect takes them (``ChatExtensions``):
    /// `thinking` as `reasoning_effort` (budget below 4,096 `low`, below 16,384 `medium`, else
    /// `high`), as `enable_thinking` / `thinking_budget`, as DeepSeek's `thinking.type`, else
    /// dropped; `top_k` kept or dropped.
    public func chatRequest(for dialect: any Dialect) throws(TranslationError) -> ChatRequest {
        let translation = try self.translation.get()
        let extensions = dialect.chatExtensions
        var body = translation.body
        if let budget = translation.thinkingBudget {
            switch extensions.thinking {
            case .reasoningEffort: body["reasoning_effort"] = .string(Self.reasoningEffort(forBudget: budget))
            case .enableThinking:
                body["enable_thinking"] = true
                body["thinking_budget"] = .int(budget)
            case .thinkingType: body["thinking"] = ["type": "enabled"]
            case .none: break
            }
        } else if translation.thinkingDisabled {
            switch extensions.thinking {
            case .enableThinking: body["enable_thinking"] = false
            case .thinkingType: body["thinking"] = ["type": "disabled"]
            case .reasoningEffort, .none: break
            }
        }
        if extensions.topK, let topK = self.body["top_k"], !topK.isNull { body["top_k"] = topK }
        return try ChatRequest(object: body)
    }

    /// The `reasoning_effort` for a thinking budget: below 4,096 tokens `low`, below 16,384
    /// `medium`, else `high`.
    public static func reasoningEffort(forBudget budget: Int) -> String {
        switch budget {
        case ..<4096: "low"
        case ..<16_384: "medium"
        default: "high"
        }
    }

    private static func takeTaskType(from body: inout JSONObject, reader: FieldReader) throws(TranslationError) -> String? {
        guard let metadata = try reader.optionalObject("metadata") else { return nil }
        _ = try metadata.optionalString("user_id")
        guard let taskType = try metadata.optionalString("task_type") else { return nil }
        var trimmed = metadata.object
        trimmed.removeValue(forKey: "task_type")
        body["metadata"] = .object(trimmed)
        return taskType
    }

    /// One user message holding the texts of the request's `system`, `messages` and `tools`:
    /// every string but base64 `data` and thinking `signature`s, which are not prompt text.
    private static func digest(of body: JSONObject, model: String) throws(TranslationError) -> ChatRequest {
        var texts: [String] = []
        for key in ["system", "messages", "tools"] {
            if let value = body[key] { Self.collectTexts(value, into: &texts) }
        }
        let message: JSONObject = ["role": "user", "content": .string(texts.joined(separator: " "))]
        return try ChatRequest(object: ["model": .string(model), "messages": [.object(message)]])
    }

    private static func collectTexts(_ value: JSONValue, into texts: inout [String]) {
        switch value {
        case .string(let text): texts.append(text)
        case .array(let elements): for element in elements { Self.collectTexts(element, into: &texts) }
        case .object(let object):
            for member in object where member.key != "data" && member.key != "signature" {
                Self.collectTexts(member.value, into: &texts)
            }
        default: break
        }
    }
}
