//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// How a dialect takes the Messages controls that Chat Completions has no field for.
public struct ChatExtensions: Sendable, Hashable {
    /// How extended thinking is switched on.
    public enum Thinking: Sendable, Hashable {
        /// `reasoning_effort` (OpenAI; Gemini and DashScope native translate it to budgets).
        case reasoningEffort
        /// `enable_thinking` and `thinking_budget` (DashScope compatible mode).
        case enableThinking
        /// `thinking: {"type": "enabled"}` without a budget (DeepSeek).
        case thinkingType
        /// Not at all (generic OpenAI-compatible servers have no common field): dropped.
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
