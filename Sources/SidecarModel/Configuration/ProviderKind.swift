//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import Translate

/// What the sidecar knows about each kind of provider (`providers.<name>.dialect`), as one table:
/// the wire format that speaks it, the vendor whose prices apply, the options it reads, whether it
/// needs a key, whether it lives inside the sidecar. Code that treats kinds differently reads the
/// kind's row (``DialectKind/kind``) instead of comparing kinds.
package struct ProviderKind: Sendable {
    /// How requests to the kind are written.
    package enum WireFormat: Sendable, Hashable {
        /// OpenAI chat completions, with the vendor's departures from it.
        case openAI(OpenAICompatibleDialect.Quirks)
        /// Anthropic Messages (`anthropic_version`, `anthropic_beta`, `default_max_tokens`).
        case anthropic
        /// Gemini `generateContent` (`api_version`).
        case gemini
        /// DashScope's own text-generation API.
        case dashScopeNative
    }

    package var wireFormat: WireFormat
    /// The vendor whose prices apply by default; `nil` for self-hosted and other
    /// OpenAI-compatible servers, which get no default price.
    package var priceVendor: PriceVendor?
    /// Whether the provider refuses requests without a key (self-hosted servers usually need none).
    package var requiresKey: Bool
    /// Whether it is served inside the sidecar (the offline demo model): it has no address, its
    /// requests never leave the process, health checks skip it, and `/v1/models` lists it as
    /// owned by `llm-sidecar-demo`.
    package var isBuiltIn = false
    /// The provider options (`providers.<name>.<option>`) that only some kinds read, which this one does.
    package var options: Set<String> = []

    /// Every kind's row.
    package static let table: [DialectKind: ProviderKind] = [
        .openAI: ProviderKind(wireFormat: .openAI(.openAI), priceVendor: .openAI, requiresKey: true, options: ["stream_options", "responses"]),
        .deepSeek: ProviderKind(wireFormat: .openAI(.deepSeek), priceVendor: .deepSeek, requiresKey: true, options: ["stream_options"]),
        .dashScope: ProviderKind(wireFormat: .openAI(.dashScope), priceVendor: .dashScope, requiresKey: true, options: ["stream_options"]),
        .dashScopeNative: ProviderKind(wireFormat: .dashScopeNative, priceVendor: .dashScope, requiresKey: true),
        .anthropic: ProviderKind(
            wireFormat: .anthropic,
            priceVendor: .anthropic,
            requiresKey: true,
            options: ["anthropic_version", "anthropic_beta", "default_max_tokens"]
        ),
        .gemini: ProviderKind(wireFormat: .gemini, priceVendor: .gemini, requiresKey: true, options: ["api_version"]),
        .openAICompatible: ProviderKind(
            wireFormat: .openAI(.generic),
            priceVendor: nil,
            requiresKey: false,
            options: ["stream_options", "responses"]
        ),
        .demo: ProviderKind(wireFormat: .openAI(.openAI), priceVendor: .demo, requiresKey: false, isBuiltIn: true, options: ["word_delay"]),
    ]

    /// The options some kinds read and others refuse.
    package static let kindSpecificOptions = Set(Self.table.values.flatMap(\.options))

    /// The kinds that read `option`, for messages.
    package static func kinds(reading option: String) -> [DialectKind] {
        DialectKind.allCases.filter { $0.kind.options.contains(option) }
    }
}

extension DialectKind {
    /// This kind's row of ``ProviderKind/table``.
    package var kind: ProviderKind {
        guard let kind = ProviderKind.table[self] else { preconditionFailure("ProviderKind.table has no row for \(self.rawValue)") }
        return kind
    }
}
