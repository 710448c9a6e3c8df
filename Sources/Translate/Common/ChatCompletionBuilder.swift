//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Builds OpenAI answers — `chat.completion` objects and `chat.completion.chunk` events — for
/// dialects that translate from another format, so every dialect emits the same shapes.
public struct ChatCompletionBuilder: Sendable {
    public var id: String
    public var created: Int
    public var model: String

    public init(id: String, created: Int, model: String) {
        self.id = id
        self.created = created
        self.model = model
    }

    /// An assistant message as OpenAI sends it: `content` (null when there is only tool calls),
    /// `reasoning_content` when the provider exposed reasoning, `tool_calls` when there are any.
    public static func message(content: String?, reasoning: String?, toolCalls: [ToolCall]) -> JSONObject {
        var message: JSONObject = ["role": "assistant", "content": .optional(content)]
        if let reasoning { message["reasoning_content"] = .string(reasoning) }
        if !toolCalls.isEmpty {
            message["tool_calls"] = .array(
                toolCalls.map { call in
                    ["id": .string(call.id), "type": "function", "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
                }
            )
        }
        message["refusal"] = .null
        return message
    }

    /// A complete `chat.completion` with one choice.
    public func completion(message: JSONObject, finishReason: String?, usage: Usage?) -> ChatResponse {
        let body: JSONObject = [
            "id": .string(self.id),
            "object": "chat.completion",
            "created": .int(self.created),
            "model": .string(self.model),
            "choices": [["index": 0, "message": .object(message), "logprobs": nil, "finish_reason": .optional(finishReason)]],
            "usage": usage.map { .object($0.openAIJSON) } ?? .null,
        ]
        return ChatResponse(openAI: body)
    }

    /// A `chat.completion.chunk` carrying `delta` (and `finish_reason` when given).
    public func chunk(delta: JSONObject, finishReason: String? = nil, choice: Int = 0) -> StreamChunk {
        StreamChunk(
            object: self.chunkObject(
                choices: [["index": .int(choice), "delta": .object(delta), "logprobs": nil, "finish_reason": .optional(finishReason)]],
                usage: nil
            )
        )
    }

    /// The usage-only chunk (`"choices": []`); the sidecar's encoder decides whether the client gets it.
    public func usageChunk(_ usage: Usage) -> StreamChunk {
        StreamChunk(object: self.chunkObject(choices: [], usage: usage))
    }

    /// A tool-call delta: the first fragment of call `index` carries its id and name.
    public static func toolCallDelta(index: Int, id: String?, name: String?, arguments: String) -> JSONObject {
        var function: JSONObject = [:]
        if let name { function["name"] = .string(name) }
        function["arguments"] = .string(arguments)
        var call: JSONObject = ["index": .int(index)]
        if let id {
            call["id"] = .string(id)
            call["type"] = "function"
        }
        call["function"] = .object(function)
        return ["tool_calls": [.object(call)]]
    }

    private func chunkObject(choices: [JSONValue], usage: Usage?) -> JSONObject {
        [
            "id": .string(self.id),
            "object": "chat.completion.chunk",
            "created": .int(self.created),
            "model": .string(self.model),
            "choices": .array(choices),
            "usage": usage.map { .object($0.openAIJSON) } ?? .null,
        ]
    }
}
