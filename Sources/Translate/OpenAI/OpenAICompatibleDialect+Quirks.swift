//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension OpenAICompatibleDialect {
    /// How one OpenAI-compatible vendor departs from OpenAI itself.
    public struct Quirks: Sendable, Hashable {
        /// Whether the server accepts `stream_options` (`include_usage`). Very old servers reject it.
        public var acceptsStreamOptions: Bool
        /// Rename `max_completion_tokens` to `max_tokens`, the only limit most compatible servers read.
        public var renamesMaxCompletionTokens: Bool
        /// Send `developer` messages as `system`, a role only OpenAI knows.
        public var mapsDeveloperToSystem: Bool
        /// Which assistant `reasoning_content` fields to send back.
        public var reasoningHistory: ReasoningHistory
        /// How a translated Messages request's `thinking` and `top_k` are sent.
        public var chatExtensions: ChatExtensions

        public init(
            acceptsStreamOptions: Bool = true,
            renamesMaxCompletionTokens: Bool,
            mapsDeveloperToSystem: Bool,
            reasoningHistory: ReasoningHistory,
            chatExtensions: ChatExtensions = ChatExtensions(thinking: .none, topK: false)
        ) {
            self.acceptsStreamOptions = acceptsStreamOptions
            self.renamesMaxCompletionTokens = renamesMaxCompletionTokens
            self.mapsDeveloperToSystem = mapsDeveloperToSystem
            self.reasoningHistory = reasoningHistory
            self.chatExtensions = chatExtensions
        }

        /// OpenAI itself: everything as sent; `reasoning_content` (not an OpenAI field) removed;
        /// thinking as `reasoning_effort`, no `top_k`.
        public static let openAI = Quirks(
            renamesMaxCompletionTokens: false,
            mapsDeveloperToSystem: false,
            reasoningHistory: .strip,
            chatExtensions: ChatExtensions(thinking: .reasoningEffort, topK: false)
        )
        /// DeepSeek: rejects `reasoning_content` of earlier turns (HTTP 400) but needs it echoed
        /// within the current tool-calling turn in thinking mode. Thinking is switched with
        /// `thinking.type` (no budget); no `top_k`.
        public static let deepSeek = Quirks(
            renamesMaxCompletionTokens: true,
            mapsDeveloperToSystem: true,
            reasoningHistory: .keepCurrentTurn,
            chatExtensions: ChatExtensions(thinking: .thinkingType, topK: false)
        )
        /// DashScope compatible mode (Qwen): `enable_thinking` and friends pass through as sent;
        /// thinking as `enable_thinking` / `thinking_budget`, `top_k` kept.
        public static let dashScope = Quirks(
            renamesMaxCompletionTokens: true,
            mapsDeveloperToSystem: true,
            reasoningHistory: .strip,
            chatExtensions: ChatExtensions(thinking: .enableThinking, topK: true)
        )
        /// Any other OpenAI-compatible server (vLLM, Ollama, Moonshot, Zhipu, SiliconFlow…):
        /// `top_k` kept (vLLM and Ollama read it), thinking dropped (no common field).
        public static let generic = Quirks(
            renamesMaxCompletionTokens: true,
            mapsDeveloperToSystem: true,
            reasoningHistory: .strip,
            chatExtensions: ChatExtensions(thinking: .none, topK: true)
        )
    }

    /// What to do with `reasoning_content` found on assistant messages of the request.
    public enum ReasoningHistory: Sendable, Hashable {
        /// Remove it everywhere.
        case strip
        /// Keep it on assistant messages after the last user message (the current turn), remove it before.
        case keepCurrentTurn
    }
}

extension OpenAICompatibleDialect.Quirks {
    /// Rewrites a request body for this vendor. Untouched when no quirk applies.
    func apply(to body: inout JSONObject) {
        if self.renamesMaxCompletionTokens, let limit = body.removeValue(forKey: "max_completion_tokens"), body["max_tokens"] == nil {
            body["max_tokens"] = limit
        }
        guard case .array(var messages)? = body["messages"], self.needsMessageRewrite(messages) else { return }
        let currentTurnStart = (messages.lastIndex { $0["role"]?.stringValue == "user" } ?? -1) + 1
        for index in messages.indices {
            guard case .object(var message) = messages[index] else { continue }
            if self.mapsDeveloperToSystem, message["role"]?.stringValue == "developer" {
                message["role"] = "system"
            }
            if message["reasoning_content"] != nil, self.reasoningHistory == .strip || index < currentTurnStart {
                message.removeValue(forKey: "reasoning_content")
            }
            messages[index] = .object(message)
        }
        body["messages"] = .array(messages)
    }

    private func needsMessageRewrite(_ messages: [JSONValue]) -> Bool {
        messages.contains { message in
            message["reasoning_content"] != nil || (self.mapsDeveloperToSystem && message["role"]?.stringValue == "developer")
        }
    }
}
