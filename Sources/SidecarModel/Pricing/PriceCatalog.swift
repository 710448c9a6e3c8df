//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Prices and limits read from a community catalog (`pricing.catalog`), kept only for the
/// vendors the sidecar speaks to, and looked up by vendor and provider model name.
///
/// LiteLLM's catalog (MIT) lists about 4,900 models of some 100 providers; about 400 are
/// OpenAI, DeepSeek, DashScope, Anthropic and Gemini models, which is all this keeps.
package struct PriceCatalog: Sendable, Equatable {
    /// What the catalog says about one model. Catalog prices are in USD.
    package struct Entry: Sendable, Hashable {
        /// `nil` when the catalog has no usable input and output price for it.
        package var price: Price?
        package var contextWindow: Int?
        package var maxOutputTokens: Int?

        /// The range a context window or output limit must be in (1...100,000,000), here and in
        /// `models.<name>`: the quotas multiply the output limit by `n` (at most 128), which must
        /// not overflow.
        package static let tokenLimits = 1...100_000_000
    }

    /// The file it was read from, resolved against the configuration's directory.
    package var path: String?
    /// `vendor/model` → entry.
    package private(set) var entries: [String: Entry] = [:]
    /// Every model in the file, the ones of other providers included.
    package var modelsRead = 0

    /// No catalog configured.
    package static let empty = PriceCatalog()

    package func entry(_ vendor: PriceVendor, model: String) -> Entry? {
        self.entries[Self.key(vendor, model)]
    }

    /// Adds an entry; an entry named with its provider prefix (`gemini/gemini-2.5-pro`) wins
    /// over one named by the bare model (`gemini-2.5-pro`) of the same vendor.
    package mutating func add(_ entry: Entry, vendor: PriceVendor, model: String, prefixed: Bool) {
        let key = Self.key(vendor, model)
        if prefixed || self.entries[key] == nil { self.entries[key] = entry }
    }

    private static func key(_ vendor: PriceVendor, _ model: String) -> String { "\(vendor.rawValue)/\(model)" }
}
