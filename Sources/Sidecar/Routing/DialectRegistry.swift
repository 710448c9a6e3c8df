//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Translate

/// Builds the dialect that speaks a provider's wire format (``ProviderKind/wireFormat``), with
/// the provider's options and their defaults.
enum DialectRegistry {
    static func dialect(for provider: ProviderConfiguration) -> any Dialect {
        let options = provider.dialectOptions
        switch provider.dialect.kind.wireFormat {
        case .openAI(var quirks):
            if let acceptsStreamOptions = provider.acceptsStreamOptions {
                quirks.acceptsStreamOptions = acceptsStreamOptions
            }
            return OpenAICompatibleDialect(quirks: quirks)
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
    }
}
