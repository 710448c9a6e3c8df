//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Translate

/// The one place that maps a provider's ``DialectKind`` to the code that speaks it.
enum DialectRegistry {
    static func dialect(for provider: ProviderConfiguration) -> any Dialect {
        let options = provider.dialectOptions
        var quirks: OpenAICompatibleDialect.Quirks
        switch provider.dialect {
        case .openAI, .demo: quirks = .openAI
        case .deepSeek: quirks = .deepSeek
        case .dashScope: quirks = .dashScope
        case .openAICompatible: quirks = .generic
        case .anthropic:
            return AnthropicDialect(
                version: options.anthropicVersion ?? AnthropicDialect.defaultVersion,
                defaultMaxTokens: options.defaultMaxTokens ?? 4096,
                betas: options.anthropicBetas
            )
        case .gemini:
            return GeminiDialect(apiVersion: options.apiVersion ?? "v1beta")
        case .dashScopeNative:
            return DashScopeNativeDialect()
        }
        if let acceptsStreamOptions = provider.acceptsStreamOptions {
            quirks.acceptsStreamOptions = acceptsStreamOptions
        }
        return OpenAICompatibleDialect(quirks: quirks)
    }
}
