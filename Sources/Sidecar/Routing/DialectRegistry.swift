//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Translate

/// The one place that maps a provider's ``DialectKind`` to the code that speaks it.
enum DialectRegistry {
    static func dialect(for provider: ProviderConfiguration) -> any Dialect {
        var quirks: OpenAICompatibleDialect.Quirks
        switch provider.dialect {
        case .openAI, .demo: quirks = .openAI
        case .deepSeek: quirks = .deepSeek
        case .dashScope: quirks = .dashScope
        case .openAICompatible: quirks = .generic
        }
        if let acceptsStreamOptions = provider.acceptsStreamOptions {
            quirks.acceptsStreamOptions = acceptsStreamOptions
        }
        return OpenAICompatibleDialect(quirks: quirks)
    }
}
