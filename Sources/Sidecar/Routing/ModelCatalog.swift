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
    /// Where the model is served, in priority order: one provider, or several (keys, regions, vendors).
    var deployments: [DeploymentConfiguration]
    /// How a request picks among ``deployments`` (default: priority order).
    var balance = BalanceStrategy.priority
    /// Models to try, in order, when every deployment of this one failed or is out.
    var fallbacks: [String] = []
    /// Tokens, within ``tokenLimits`` like ``maxOutputTokens``, from `sidecar.yaml` or the price catalog.
    var contextWindow: Int?
    var maxOutputTokens: Int?
    /// The range a context window or output limit must be in (1...100,000,000): the quotas
    /// multiply the output limit by `n` (at most 128), which must not overflow.
    static let tokenLimits = 1...100_000_000
    /// Its own prices from `sidecar.yaml`, and the defaults it falls back to.
    var pricing = ModelPricing()
    var strengths: [String]
    var bestFor: [String]
    var description: String?

    var isPattern: Bool { self.name.hasSuffix("*") }

    /// The provider of the first deployment, for listings.
    var provider: String { self.deployments.first?.provider ?? "" }

    /// The provider model name of the first deployment (`nil`: the requested name).
    var upstreamModel: String? { self.deployments.first?.upstreamModel }
}

/// One place a model is served (`models.<name>.deployments[]`, or `provider` + `upstream_model`).
struct DeploymentConfiguration: Sendable, Hashable {
    var provider: String
    /// The provider's name for the model; `nil` means the name the client asked for.
    var upstreamModel: String?
    /// Share of traffic under weighted balancing (default 1).
    var weight = 1
    /// Requests in flight at most; beyond it the deployment is skipped (fail fast). `nil`: no cap.
    var maxConcurrency: Int?
}

/// How a model's deployments share its traffic.
enum BalanceStrategy: String, Sendable, Hashable, CaseIterable {
    /// The first healthy deployment in the configured order.
    case priority
    /// Randomly, in proportion to `weight`.
    case weighted
    /// The deployment with the fewest requests in flight.
    case leastInFlight = "least_in_flight"
    /// The deployment with the lowest recent time to first byte (an exponentially weighted average).
    case lowestLatency = "lowest_latency"
}

/// A requested model name resolved to its entry.
struct ResolvedModel: Sendable {
    /// The name the client asked for.
    var name: String
    var entry: ModelEntry
    /// The name sent to the first deployment's provider.
    var upstreamModel: String { self.entry.upstreamModel ?? self.name }

    /// The provider model of `deployment` and the model's limits, as dialects need them.
    func target(on deployment: DeploymentConfiguration) -> UpstreamTarget {
        UpstreamTarget(model: deployment.upstreamModel ?? self.name, maxOutputTokens: self.entry.maxOutputTokens)
    }
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

    /// Changes every entry in place, keeping the lookup order.
    mutating func updateEntries(_ update: (inout ModelEntry) -> Void) {
        for index in self.listed.indices { update(&self.listed[index]) }
        for index in self.patterns.indices { update(&self.patterns[index]) }
        self.exact = Dictionary(self.listed.map { ($0.name, $0) }) { _, last in last }
    }
}
