//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A client's Chat Completions request: the body as sent, plus a validated, typed view of it.
///
/// OpenAI-family dialects forward ``body`` almost untouched (every field they do not need to
/// change survives); native dialects build their own payloads from the typed properties.
public struct ChatRequest: Sendable {
    /// The request object as received, without the sidecar's own fields (`task_type`).
    public var body: JSONObject
    /// The `model` the client asked for; the router maps it to a provider model.
    public var model: String
    public var messages: [ChatMessage]
    public var stream: Bool
    /// `stream_options.include_usage`: whether the client wants the final usage chunk.
    public var includeUsage: Bool
    /// `max_completion_tokens`, or the older `max_tokens` when only that is given: 0 to
    /// ``maximumOutputTokens``.
    public var maxOutputTokens: Int?
    public var tools: [ToolDefinition]
    /// Sampling, tool-choice, format and reasoning options, for dialects that translate them.
    public var options: ChatOptions
    /// The sidecar's `task_type` body field (the original service API), used for routing.
    public var taskType: String?

    /// The largest `max_tokens` / `max_completion_tokens` accepted (2^32, far above any model's
    /// output limit); beyond it, or below 0, the request is 400 naming the field. The quotas
    /// reserve this many tokens times `n`, which must not overflow.
    public static let maximumOutputTokens = 1 << 32
    /// The largest `n` accepted (128, OpenAI's own limit); beyond it, or below 1, 400 naming `n`.
    public static let maximumChoices = 128

    /// Parses and validates a request body.
    ///
    /// Only what the sidecar relies on is checked — types of `model`, `messages` (non-empty,
    /// known roles, well-formed content and tool calls), `stream`, `stream_options`, the token
    /// limits and `tools` — so that a bad request gets a 400 naming the field; everything else is
    /// left for the provider to judge.
    /// - Throws: ``TranslationError`` with code ``TranslationError/Code/invalidRequest``.
    public init(parsing bytes: some Collection<UInt8>, maximumDepth: Int = JSONValue.defaultMaximumDepth) throws(TranslationError) {
        let object = try JSONObject(requestBody: bytes, maximumDepth: maximumDepth)
        try self.init(object: object)
    }

    /// Validates an already parsed request object. See ``init(parsing:maximumDepth:)``.
    public init(object: JSONObject) throws(TranslationError) {
        var body = object
        let reader = FieldReader(object: object)
        self.model = try reader.requiredString("model")
        self.taskType = try reader.optionalString("task_type")
        body.removeValue(forKey: "task_type")
        self.stream = try reader.optionalBool("stream") ?? false
        self.includeUsage = try Self.includeUsage(in: reader)
        let legacyLimit = try reader.optionalCount("max_tokens", to: Self.maximumOutputTokens)
        self.maxOutputTokens = try reader.optionalCount("max_completion_tokens", to: Self.maximumOutputTokens) ?? legacyLimit
        self.messages = try Self.messages(in: reader)
        self.tools = try Self.tools(in: reader)
        self.options = try ChatOptions(reading: reader)
        self.body = body
    }

    private static func includeUsage(in reader: FieldReader) throws(TranslationError) -> Bool {
        guard let options = try reader.optionalObject("stream_options") else { return false }
        return try options.optionalBool("include_usage") ?? false
    }

    private static func messages(in reader: FieldReader) throws(TranslationError) -> [ChatMessage] {
        let elements = try reader.requiredArray("messages")
        guard !elements.isEmpty else {
            throw .invalid("'messages' must contain at least one message.", param: "messages")
        }
        var messages: [ChatMessage] = []
        messages.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            messages.append(try ChatMessage(json: element, path: "messages[\(index)]"))
        }
        return messages
    }

    private static func tools(in reader: FieldReader) throws(TranslationError) -> [ToolDefinition] {
        guard let elements = try reader.optionalArray("tools") else { return [] }
        var tools: [ToolDefinition] = []
        for (index, element) in elements.enumerated() {
            let path = "tools[\(index)]"
            let tool = try FieldReader(element, path: path)
            guard let function = try tool.optionalObject("function") else {
                // Non-function tools (e.g. OpenAI's built-in ones) pass through untyped.
                continue
            }
            tools.append(
                ToolDefinition(
                    name: try function.requiredString("name"),
                    description: try function.optionalString("description"),
                    parameters: function.optionalValue("parameters"),
                    strict: try function.optionalBool("strict")
                )
            )
        }
        return tools
    }
}
