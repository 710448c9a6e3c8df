//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Who sells a model, as far as default prices go: one vendor per dialect, since the same model
/// name costs different amounts (and currencies) at different vendors — `deepseek-v3` at
/// DeepSeek in USD, on Alibaba DashScope in CNY.
///
/// Self-hosted and other `openai-compatible` servers have no vendor, so they get no default
/// price: give them one in `sidecar.yaml`.
package enum PriceVendor: String, Sendable, Hashable, CaseIterable {
    case openAI = "openai"
    case deepSeek = "deepseek"
    case dashScope = "dashscope"
    case anthropic
    case gemini
    case demo

    /// The vendor of a community catalog entry, from its `litellm_provider`; `nil` for the many
    /// providers the sidecar does not speak to directly (Azure, Bedrock, Vertex AI, resellers…).
    package init?(litellmProvider: String) {
        switch litellmProvider {
        case "openai", "text-completion-openai": self = .openAI
        case "deepseek": self = .deepSeek
        case "dashscope": self = .dashScope
        case "anthropic": self = .anthropic
        case "gemini": self = .gemini
        default: return nil
        }
    }
}
