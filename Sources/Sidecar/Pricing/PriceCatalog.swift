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
struct PriceCatalog: Sendable, Equatable {
    /// What the catalog says about one model. Catalog prices are in USD.
    struct Entry: Sendable, Hashable {
        /// `nil` when the catalog has no usable input and output price for it.
        var price: Price?
        var contextWindow: Int?
        var maxOutputTokens: Int?
    }

    /// The file it was read from, resolved against the configuration's directory.
    var path: String?
    /// `vendor/model` → entry.
    private(set) var entries: [String: Entry] = [:]
    /// Every model in the file, the ones of other providers included.
    var modelsRead = 0

    /// No catalog configured.
    static let empty = PriceCatalog()

    func entry(_ vendor: PriceVendor, model: String) -> Entry? {
        self.entries[Self.key(vendor, model)]
    }

    /// Adds an entry; an entry named with its provider prefix (`gemini/gemini-2.5-pro`) wins
    /// over one named by the bare model (`gemini-2.5-pro`) of the same vendor.
    mutating func add(_ entry: Entry, vendor: PriceVendor, model: String, prefixed: Bool) {
        let key = Self.key(vendor, model)
        if prefixed || self.entries[key] == nil { self.entries[key] = entry }
    }

    private static func key(_ vendor: PriceVendor, _ model: String) -> String { "\(vendor.rawValue)/\(model)" }
}
