//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Builds Responses API `response` objects and output items from the chat model, for requests
/// translated to a provider that does not speak Responses.
///
/// Output items, in order: a `reasoning` item whose summary is the provider's reasoning text
/// (`reasoning_content`), a `message` with one `output_text` part, then one `function_call` per
/// tool call. Item ids derive from the response id (`rs_`, `msg_`, `fc_` and its suffix and the
/// item's index). A tool call's `extra_content` (Gemini's thought signature) stays on its
/// `function_call` item, so a conversation handed back keeps it. A chat `finish_reason` of `length` makes the response `incomplete`
/// (`max_output_tokens`), `content_filter` likewise (`content_filter`).
public struct ResponseBuilder: Sendable {
    /// `resp_` and 24 hexadecimal digits.
    public let id: String
    public let createdAt: Int
    public let request: ResponsesRequest

    public init(id: String, createdAt: Int, request: ResponsesRequest) {
        self.id = id
        self.createdAt = createdAt
        self.request = request
    }

    /// The id of output item `index` of kind `prefix` (`rs`, `msg`, `fc`).
    public func itemID(_ prefix: String, _ index: Int) -> String {
        "\(prefix)_\(self.id.dropFirst("resp_".count))\(index)"
    }

    /// The response of a complete chat answer, its usage extended with `usageExtras` (the
    /// sidecar's cost).
    public func response(from chat: ChatResponse, usageExtras: JSONObject) -> JSONObject {
        let choice = chat.body["choices"]?.arrayValue?.first
        return self.response(
            model: chat.responseModel,
            output: self.outputItems(of: choice?["message"]),
            usage: chat.usage,
            usageExtras: usageExtras,
            finishReason: chat.finishReasons.first
        )
    }

    /// The output items of a chat assistant message.
    public func outputItems(of message: JSONValue?) -> [JSONObject] {
        var items: [JSONObject] = []
        if let reasoning = message?["reasoning_content"]?.stringValue, !reasoning.isEmpty {
            items.append(self.reasoningItem(index: items.count, text: reasoning))
        }
        if let text = message?["content"]?.stringValue {
            items.append(self.messageItem(index: items.count, text: text, status: "completed"))
        }
        for call in message?["tool_calls"]?.arrayValue ?? [] {
            var item = self.functionCallItem(
                index: items.count,
                callID: call["id"]?.stringValue ?? self.itemID("call", items.count),
                name: call["function"]?["name"]?.stringValue ?? "",
                arguments: call["function"]?["arguments"]?.stringValue ?? "",
                status: "completed"
            )
            item["extra_content"] = call["extra_content"]
            items.append(item)
        }
        return items
    }

    func reasoningItem(index: Int, text: String?) -> JSONObject {
        let summary: [JSONValue] = text.map { [["type": "summary_text", "text": .string($0)]] } ?? []
        return ["id": .string(self.itemID("rs", index)), "type": "reasoning", "summary": .array(summary)]
    }

    func messageItem(index: Int, text: String?, status: String) -> JSONObject {
        let content: [JSONValue] = text.map { [.object(Self.textPart($0))] } ?? []
        return [
            "id": .string(self.itemID("msg", index)), "type": "message", "role": "assistant", "status": .string(status),
            "content": .array(content),
        ]
    }

    static func textPart(_ text: String) -> JSONObject {
        ["type": "output_text", "text": .string(text), "annotations": [], "logprobs": []]
    }

    func functionCallItem(index: Int, callID: String, name: String, arguments: String, status: String) -> JSONObject {
        [
            "id": .string(self.itemID("fc", index)), "type": "function_call", "status": .string(status), "call_id": .string(callID),
            "name": .string(name), "arguments": .string(arguments),
        ]
    }

    /// A `response` object: `status` follows `finishReason` unless `error` makes it `failed`;
    /// `nil` `usage` while in progress.
    public func response(
        model: String?,
        output: [JSONObject],
        usage: Usage?,
        usageExtras: JSONObject = [:],
        finishReason: String?,
        inProgress: Bool = false,
        error: JSONObject? = nil
    ) -> JSONObject {
        var status = inProgress ? "in_progress" : "completed"
        var incomplete: JSONValue = .null
        if error != nil {
            status = "failed"
        } else if !inProgress, let reason = Self.incompleteReason(finishReason) {
            status = "incomplete"
            incomplete = ["reason": .string(reason)]
        }
        var response: JSONObject = [
            "id": .string(self.id), "object": "response", "created_at": .int(self.createdAt), "status": .string(status),
            "error": error.map(JSONValue.object) ?? .null, "incomplete_details": incomplete,
            "model": .optional(model ?? self.request.model), "output": .array(output.map(JSONValue.object)),
            "usage": usage.map { .object(Self.usageJSON($0, extras: usageExtras)) } ?? .null,
        ]
        for (key, fallback) in Self.echoedSettings { response[key] = self.request.body[key] ?? fallback }
        return response
    }

    /// The request settings a `response` repeats, with OpenAI's defaults.
    static let echoedSettings: [(String, JSONValue)] = [
        ("instructions", .null), ("max_output_tokens", .null), ("metadata", [:]), ("parallel_tool_calls", true),
        ("previous_response_id", .null), ("reasoning", ["effort": nil, "summary": nil]), ("store", true), ("temperature", 1),
        ("text", ["format": ["type": "text"]]), ("tool_choice", "auto"), ("tools", []), ("top_p", 1), ("truncation", "disabled"),
        ("user", .null), ("background", false),
    ]

    static func incompleteReason(_ finishReason: String?) -> String? {
        switch finishReason {
        case "length": "max_output_tokens"
        case "content_filter": "content_filter"
        default: nil
        }
    }

    /// A Responses `usage` object, with `extras` (the sidecar's `cost` and `currency`).
    public static func usageJSON(_ usage: Usage, extras: JSONObject = [:]) -> JSONObject {
        var object: JSONObject = [
            "input_tokens": .int(usage.inputTokens),
            "input_tokens_details": ["cached_tokens": .int(usage.cachedInputTokens), "cache_write_tokens": .int(usage.cacheCreationInputTokens)],
            "output_tokens": .int(usage.outputTokens), "output_tokens_details": ["reasoning_tokens": .int(usage.reasoningTokens)],
            "total_tokens": .int(usage.totalTokens),
        ]
        for member in extras { object[member.key] = member.value }
        return object
    }
}

extension Usage {
    /// Reads a Responses API `usage` object. Returns `nil` for `null` or one without `input_tokens`.
    public init?(responses json: JSONValue?) {
        guard let json, let input = json["input_tokens"]?.tokenCount else { return nil }
        self.init(
            inputTokens: input,
            outputTokens: json["output_tokens"]?.tokenCount ?? 0,
            cachedInputTokens: json["input_tokens_details"]?["cached_tokens"]?.tokenCount ?? 0,
            cacheCreationInputTokens: json["input_tokens_details"]?["cache_write_tokens"]?.tokenCount ?? 0,
            reasoningTokens: json["output_tokens_details"]?["reasoning_tokens"]?.tokenCount ?? 0
        )
    }
}
