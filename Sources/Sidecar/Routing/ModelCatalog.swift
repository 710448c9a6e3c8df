//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Translate

/// A model exposed to clients (`models.<name>`), and what serves it.
struct ModelEntry: Sendable {
    /// The name clients use, or a pattern ending in `*` (`gpt-*`, `*`) that matches many names.
    var name: String
    var provider: String
    /// The provider's name for the model; `nil` means "the name the client asked for".
    var upstreamModel: String?
    var contextWindow: Int?
    var maxOutputTokens: Int?
    var price: Price?
    var strengths: [String]
    var bestFor: [String]
    var description: String?

    var isPattern: Bool { self.name.hasSuffix("*") }
}

/// A requested model name resolved to its entry.
struct ResolvedModel: Sendable {
    /// The name the client asked for.
    var name: String
    var entry: ModelEntry
    /// The name sent to the provider.
    var upstreamModel: String { self.entry.upstreamModel ?? self.name }

    /// The provider model and its limits, as dialects need them.
    var target: UpstreamTarget { UpstreamTarget(model: self.upstreamModel, maxOutputTokens: self.entry.maxOutputTokens) }
}

/// Every configured model, looked up by exact name first, then by the longest matching pattern.
struct ModelCatalog: Sendable {
    /// The exact (non-pattern) entries, in configuration order — what `/v1/models` lists.
    private(set) var listed: [ModelEntry] = []
    private var exact: [String: ModelEntry] = [:]
    private var patterns: [ModelEntry] = []

    init(_ entries: [ModelEntry]) {
        for entry in entries {
            if entry.isPattern {
                self.patterns.append(entry)
            } else {
                self.exact[entry.name] = entry
                self.listed.append(entry)
            }
        }
        self.patterns.sort { $0.name.count > $1.name.count }
    }

    func resolve(_ name: String) -> ResolvedModel? {
        if let entry = self.exact[name] { return ResolvedModel(name: name, entry: entry) }
        guard let entry = self.patterns.first(where: { name.hasPrefix($0.name.dropLast()) }) else { return nil }
        return ResolvedModel(name: name, entry: entry)
    }

    var allEntries: [ModelEntry] { self.listed + self.patterns }
}
