//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Translates Anthropic's named stream events into OpenAI `chat.completion.chunk`s.
///
/// - `message_start` gives the id, model and input usage, and yields the first chunk
///   (`role: assistant`).
/// - Blocks stream between `content_block_start` and `content_block_stop`: `text_delta` becomes
///   `content`, `thinking_delta` `reasoning_content` (signatures are dropped), and a `tool_use`
///   block becomes tool call number *n* (its first delta carries id, name and `arguments: ""`,
///   each `input_json_delta` one more arguments fragment). The structured-answer tool
///   (``AnthropicJSONAnswer``) streams its input as `content` instead.
/// - `message_delta` carries the stop reason (the finish chunk) and cumulative usage;
///   `message_stop` yields the usage chunk and the end.
/// - `ping` and unknown events are ignored; an `error` event is a ``StreamItem/failure(_:)``.
///
/// A stream that ends without `message_stop` (or an error event) was cut off.
struct AnthropicStreamTranslator: StreamTranslator {
    private let context: ResponseContext
    private let requestModel: String
    private let answerTool: String?
    private var builder: ChatCompletionBuilder?
    private var usage = AnthropicUsage()
    /// The open blocks, by Anthropic's block index.
    private var blocks: [Int: Block] = [:]
    /// Tool calls for the client so far; the next call's OpenAI index.
    private var toolCallCount = 0
    private var ended = false

    private enum Block {
        case text
        case thinking
        /// Tool call `index`; `wholeInput` is an input given complete at the block's start, sent
        /// at its stop unless fragments arrive.
        case toolCall(index: Int, wholeInput: JSONValue?)
        case answer(wholeInput: JSONValue?)
        case ignored
    }

    init(request: ChatRequest, context: ResponseContext) {
        self.context = context
        self.requestModel = request.model
        self.answerTool = AnthropicJSONAnswer.toolName(for: request)
    }

    mutating func translate(_ event: SSEEvent) throws(TranslationError) -> [StreamItem] {
        guard !self.ended else { return [] }
        guard let payload = try? JSONValue.parse(event.data), payload.objectValue != nil else {
            throw Self.violation("The provider sent a stream event that is not a JSON object.")
        }
        let type = payload["type"]?.stringValue ?? event.event ?? ""
        switch type {
        case "ping":
            return []
        case "error":
            self.ended = true
            return [.failure(AnthropicDialect.failure(fromErrorObject: payload["error"] ?? [:], status: nil))]
        case "message_start":
            return try self.start(payload["message"])
        default:
            break
        }
        guard let builder = self.builder else {
            throw Self.violation("The provider sent '\(type)' before 'message_start'.")
        }
        switch type {
        case "content_block_start":
            return try self.startBlock(payload, builder: builder)
        case "content_block_delta":
            return try self.delta(payload, builder: builder)
        case "content_block_stop":
            return try self.stopBlock(payload, builder: builder)
        case "message_delta":
            self.usage.update(payload["usage"])
            guard let stopReason = payload["delta"]?["stop_reason"]?.stringValue else { return [] }
            let finishReason = AnthropicStopReason.finishReason(stopReason, calledClientTools: self.toolCallCount > 0)
            return [.chunk(builder.chunk(delta: [:], finishReason: finishReason))]
        case "message_stop":
            self.ended = true
            var items: [StreamItem] = []
            if let usage = self.usage.usage { items.append(.chunk(builder.usageChunk(usage))) }
            items.append(.end)
            return items
        default:
            return []
        }
    }

    mutating func finish() throws(TranslationError) -> [StreamItem] {
        guard self.ended else {
            throw Self.violation("The provider closed the stream before 'message_stop'.")
        }
        return []
    }

    // MARK: Events

    private mutating func start(_ message: JSONValue?) throws(TranslationError) -> [StreamItem] {
        guard self.builder == nil else { throw Self.violation("The provider sent a second 'message_start'.") }
        guard let message, message.objectValue != nil else { throw Self.violation("'message_start' carries no message.") }
        let builder = ChatCompletionBuilder(
            id: message["id"]?.stringValue ?? self.context.responseID,
            created: self.context.created,
            model: message["model"]?.stringValue ?? self.requestModel
        )
        self.builder = builder
        self.usage.update(message["usage"])
        return [.chunk(builder.chunk(delta: ["role": "assistant", "content": "", "refusal": nil]))]
    }

    private mutating func startBlock(_ payload: JSONValue, builder: ChatCompletionBuilder) throws(TranslationError) -> [StreamItem] {
        let index = try Self.blockIndex(payload)
        let block = payload["content_block"]
        switch block?["type"]?.stringValue {
        case "text"?:
            self.blocks[index] = .text
            return Self.content(block?["text"]?.stringValue, builder: builder)
        case "thinking"?:
            self.blocks[index] = .thinking
            return Self.reasoning(block?["thinking"]?.stringValue, builder: builder)
        case "tool_use"?:
            let name = block?["name"]?.stringValue ?? ""
            let input = block?["input"].flatMap { $0.objectValue?.isEmpty == false ? $0 : nil }
            if name == self.answerTool {
                self.blocks[index] = .answer(wholeInput: input)
                return []
            }
            let callIndex = self.toolCallCount
            self.toolCallCount += 1
            self.blocks[index] = .toolCall(index: callIndex, wholeInput: input)
            let delta = ChatCompletionBuilder.toolCallDelta(index: callIndex, id: block?["id"]?.stringValue ?? "", name: name, arguments: "")
            return [.chunk(builder.chunk(delta: delta))]
        default:
            self.blocks[index] = .ignored
            return []
        }
    }

    private mutating func delta(_ payload: JSONValue, builder: ChatCompletionBuilder) throws(TranslationError) -> [StreamItem] {
        let index = try Self.blockIndex(payload)
        guard let block = self.blocks[index] else {
            throw Self.violation("The provider sent a delta for block \(index), which is not open.")
        }
        let delta = payload["delta"]
        switch (delta?["type"]?.stringValue, block) {
        case ("text_delta"?, .text):
            return Self.content(delta?["text"]?.stringValue, builder: builder)
        case ("thinking_delta"?, .thinking):
            return Self.reasoning(delta?["thinking"]?.stringValue, builder: builder)
        case ("input_json_delta"?, .toolCall(let callIndex, _)):
            self.blocks[index] = .toolCall(index: callIndex, wholeInput: nil)
            guard let fragment = delta?["partial_json"]?.stringValue, !fragment.isEmpty else { return [] }
            let toolDelta = ChatCompletionBuilder.toolCallDelta(index: callIndex, id: nil, name: nil, arguments: fragment)
            return [.chunk(builder.chunk(delta: toolDelta))]
        case ("input_json_delta"?, .answer):
            self.blocks[index] = .answer(wholeInput: nil)
            return Self.content(delta?["partial_json"]?.stringValue, builder: builder)
        default:
            // signature_delta, citations_delta, and deltas of blocks the client does not see.
            return []
        }
    }

    private mutating func stopBlock(_ payload: JSONValue, builder: ChatCompletionBuilder) throws(TranslationError) -> [StreamItem] {
        let index = try Self.blockIndex(payload)
        switch self.blocks.removeValue(forKey: index) {
        case .toolCall(let callIndex, let input?)?:
            let delta = ChatCompletionBuilder.toolCallDelta(index: callIndex, id: nil, name: nil, arguments: input.jsonString)
            return [.chunk(builder.chunk(delta: delta))]
        case .answer(let input?)?:
            return Self.content(input.jsonString, builder: builder)
        default:
            return []
        }
    }

    // MARK: Helpers

    private static func content(_ text: String?, builder: ChatCompletionBuilder) -> [StreamItem] {
        guard let text, !text.isEmpty else { return [] }
        return [.chunk(builder.chunk(delta: ["content": .string(text)]))]
    }

    private static func reasoning(_ text: String?, builder: ChatCompletionBuilder) -> [StreamItem] {
        guard let text, !text.isEmpty else { return [] }
        return [.chunk(builder.chunk(delta: ["reasoning_content": .string(text)]))]
    }

    private static func blockIndex(_ payload: JSONValue) throws(TranslationError) -> Int {
        guard let index = payload["index"]?.intValue else {
            throw Self.violation("The provider sent a '\(payload["type"]?.stringValue ?? "")' event without a block index.")
        }
        return index
    }

    private static func violation(_ message: String) -> TranslationError {
        TranslationError(.streamProtocolViolation, message)
    }
}
