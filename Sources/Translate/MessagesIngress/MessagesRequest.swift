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
/// Checked here, so that a bad request gets a 400 naming the field whatever the target: `model`
/// (a string), `max_tokens` (required, 1 to ``ChatRequest/maximumOutputTokens``), `messages`
/// (non-empty, roles `user` and `assistant`, content a string or known blocks), `system`,
/// `tools`, `tool_choice`, `thinking`, `stop_sequences`, `metadata` and `stream`.
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
    /// `thinking.budget_tokens` when `thinking.type` is `enabled`.
    public var thinkingBudget: Int?
    /// The conversation in Chat Completions form, before the target's controls are applied.
    let chatBody: JSONObject
    /// The canonical request: used for token estimates and billing, whatever the target.
    public let chat: ChatRequest

    /// Parses and validates a request body.
    /// - Throws: ``TranslationError/Code/invalidRequest`` naming the field, or
    ///   ``TranslationError/Code/unsupportedFeature`` for a field no translation can carry.
    /// - Parameter counting: a `count_tokens` body, which has no `max_tokens` (1 is assumed).
    public init(
        parsing bytes: some Collection<UInt8>,
        counting: Bool = false,
        maximumDepth: Int = JSONValue.defaultMaximumDepth
    ) throws(TranslationError) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes, maximumDepth: maximumDepth)
        } catch {
            throw .invalid("The request body is not valid JSON (\(error.description)).", param: nil)
        }
        guard case .object(let object) = value else {
            throw .invalid("The request body must be a JSON object, not \(value.typeName).", param: nil)
        }
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
        self.thinkingBudget = try Self.thinkingBudget(reader)
        self.chatBody = try MessagesToChat(reader: reader, maxTokens: maxTokens, stream: self.stream).body()
        self.chat = try ChatRequest(object: self.chatBody)
    }

    /// The canonical request for a provider of `dialect`, with the Messages controls Chat
    /// Completions lacks carried the way that dialect takes them (``ChatExtensions``):
    /// `thinking` as `reasoning_effort` (budget below 4,096 `low`, below 16,384 `medium`, else
    /// `high`) or as `enable_thinking` / `thinking_budget`, else dropped; `top_k` kept or dropped.
    public func chatRequest(for dialect: any Dialect) throws(TranslationError) -> ChatRequest {
        let extensions = dialect.chatExtensions
        var body = self.chatBody
        if let budget = self.thinkingBudget {
            switch extensions.thinking {
            case .reasoningEffort: body["reasoning_effort"] = .string(Self.reasoningEffort(forBudget: budget))
            case .enableThinking:
                body["enable_thinking"] = true
                body["thinking_budget"] = .int(budget)
            case .none: break
            }
        } else if self.body["thinking"]?["type"] == "disabled", extensions.thinking == .enableThinking {
            body["enable_thinking"] = false
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

    private static func thinkingBudget(_ reader: FieldReader) throws(TranslationError) -> Int? {
        guard let thinking = try reader.optionalObject("thinking") else { return nil }
        switch try thinking.requiredString("type") {
        case "enabled":
            guard let budget = try thinking.optionalCount("budget_tokens", from: 1, to: ChatRequest.maximumOutputTokens) else {
                throw .invalid("'thinking.budget_tokens' is required.", param: "thinking.budget_tokens")
            }
            return budget
        case "disabled":
            return nil
        case let other:
            throw .invalid("'thinking.type' must be \"enabled\" or \"disabled\", not \"\(other)\".", param: "thinking.type")
        }
    }
}

/// How a dialect takes the Messages controls that Chat Completions has no field for.
public struct ChatExtensions: Sendable, Hashable {
    /// How extended thinking is switched on.
    public enum Thinking: Sendable, Hashable {
        /// `reasoning_effort` (OpenAI; Gemini and DashScope native translate it to budgets).
        case reasoningEffort
        /// `enable_thinking` and `thinking_budget` (DashScope compatible mode).
        case enableThinking
        /// Not at all: the model decides (DeepSeek picks it by model), so it is dropped.
        case none
    }

    public var thinking: Thinking
    /// Whether `top_k` is understood (dropped otherwise).
    public var topK: Bool

    public init(thinking: Thinking, topK: Bool) {
        self.thinking = thinking
        self.topK = topK
    }
}
