//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Token counts of one request, with OpenAI's semantics whatever the provider.
///
/// As in OpenAI's `usage` object, cached and cache-write tokens are *part of* ``inputTokens``
/// and reasoning tokens are *part of* ``outputTokens``; pricing subtracts them out.
public struct Usage: Sendable, Hashable {
    /// The largest token count read from a provider (2^32; one request uses a few million at
    /// most). Larger and negative counts are clamped (``JSONValue/tokenCount``).
    public static let maximumTokens = 1 << 32

    /// All prompt tokens (`prompt_tokens`), cached ones included.
    public var inputTokens: Int
    /// All generated tokens (`completion_tokens`), reasoning included.
    public var outputTokens: Int
    /// Prompt tokens served from the provider's cache (`prompt_tokens_details.cached_tokens`).
    public var cachedInputTokens: Int
    /// Prompt tokens written to the provider's cache (Anthropic's `cache_creation_input_tokens`).
    public var cacheCreationInputTokens: Int
    /// Hidden reasoning tokens (`completion_tokens_details.reasoning_tokens`).
    public var reasoningTokens: Int

    public init(
        inputTokens: Int,
        outputTokens: Int,
        cachedInputTokens: Int = 0,
        cacheCreationInputTokens: Int = 0,
        reasoningTokens: Int = 0
    ) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
        self.reasoningTokens = reasoningTokens
    }

    public var totalTokens: Int { self.inputTokens + self.outputTokens }
}

extension Usage {
    /// Reads an OpenAI-style `usage` object, including DeepSeek's `prompt_cache_hit_tokens`.
    /// Returns `nil` for `null` or a value without `prompt_tokens`.
    public init?(openAI json: JSONValue?) {
        guard let json, let input = json["prompt_tokens"]?.tokenCount else { return nil }
        let output = json["completion_tokens"]?.tokenCount ?? max(0, (json["total_tokens"]?.tokenCount ?? input) - input)
        let cached = json["prompt_tokens_details"]?["cached_tokens"]?.tokenCount ?? json["prompt_cache_hit_tokens"]?.tokenCount ?? 0
        self.init(
            inputTokens: input,
            outputTokens: output,
            cachedInputTokens: cached,
            cacheCreationInputTokens: json["prompt_tokens_details"]?["cache_write_tokens"]?.tokenCount ?? 0,
            reasoningTokens: json["completion_tokens_details"]?["reasoning_tokens"]?.tokenCount ?? 0
        )
    }

    /// The usage as an OpenAI `usage` object.
    public var openAIJSON: JSONObject {
        var promptDetails: JSONObject = ["cached_tokens": .int(self.cachedInputTokens)]
        if self.cacheCreationInputTokens > 0 {
            promptDetails["cache_write_tokens"] = .int(self.cacheCreationInputTokens)
        }
        return [
            "prompt_tokens": .int(self.inputTokens),
            "completion_tokens": .int(self.outputTokens),
            "total_tokens": .int(self.totalTokens),
            "prompt_tokens_details": .object(promptDetails),
            "completion_tokens_details": ["reasoning_tokens": .int(self.reasoningTokens)],
        ]
    }
}
