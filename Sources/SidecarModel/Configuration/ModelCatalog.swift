//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import Translate

/// A model exposed to clients (`models.<name>`), and what serves it.
package struct ModelEntry: Sendable {
    /// The name clients use, or a pattern ending in `*` (`gpt-*`, `*`) that matches many names.
    package var name: String
    /// Where the model is served, in priority order: one provider, or several (keys, regions, vendors).
    package var deployments: [DeploymentConfiguration]
    /// How a request picks among ``deployments`` (default: priority order).
    package var balance = BalanceStrategy.priority
    /// Models to try, in order, when every deployment of this one failed or is out.
    package var fallbacks: [String] = []
    /// Tokens, within ``PriceCatalog/Entry/tokenLimits`` like ``maxOutputTokens``, from
    /// `sidecar.yaml` or the price catalog.
    package var contextWindow: Int?
    package var maxOutputTokens: Int?
    /// Its own prices from `sidecar.yaml`, and the defaults it falls back to.
    package var pricing = ModelPricing()
    package var strengths: [String]
    package var bestFor: [String]
    package var description: String?

    package var isPattern: Bool { self.name.hasSuffix("*") }

    /// The provider of the first deployment, for listings.
    package var provider: String { self.deployments.first?.provider ?? "" }

    /// The provider model name of the first deployment (`nil`: the requested name).
    package var upstreamModel: String? { self.deployments.first?.upstreamModel }
}

/// One place a model is served (`models.<name>.deployments[]`, or `provider` + `upstream_model`).
package struct DeploymentConfiguration: Sendable, Hashable {
    package var provider: String
    /// The provider's name for the model; `nil` means the name the client asked for.
    package var upstreamModel: String?
    /// Share of traffic under weighted balancing (default 1).
    package var weight = 1
    /// Requests in flight at most; beyond it the deployment is skipped (fail fast). `nil`: no cap.
    package var maxConcurrency: Int?
}

/// How a model's deployments share its traffic.
package enum BalanceStrategy: String, Sendable, Hashable, CaseIterable {
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
package struct ResolvedModel: Sendable {
    /// The name the client asked for.
    package var name: String
    package var entry: ModelEntry
    /// The name sent to the first deployment's provider.
    package var upstreamModel: String { self.entry.upstreamModel ?? self.name }

    package init(name: String, entry: ModelEntry) {
        self.name = name
        self.entry = entry
    }

    /// The provider model of `deployment` and the model's limits, as dialects need them.
    package func target(on deployment: DeploymentConfiguration) -> UpstreamTarget {
        UpstreamTarget(model: deployment.upstreamModel ?? self.name, maxOutputTokens: self.entry.maxOutputTokens)
    }
}

/// Every configured model, looked up by exact name first, then by the longest matching pattern.
package struct ModelCatalog: Sendable {
    /// The exact (non-pattern) entries, in configuration order — what `/v1/models` lists.
    package private(set) var listed: [ModelEntry] = []
    private var exact: [String: ModelEntry] = [:]
    private var patterns: [ModelEntry] = []

    package init(_ entries: [ModelEntry]) {
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

    package func resolve(_ name: String) -> ResolvedModel? {
        if let entry = self.exact[name] { return ResolvedModel(name: name, entry: entry) }
        guard let entry = self.patterns.first(where: { name.hasPrefix($0.name.dropLast()) }) else { return nil }
        return ResolvedModel(name: name, entry: entry)
    }

    package var allEntries: [ModelEntry] { self.listed + self.patterns }

    /// Changes every entry in place, keeping the lookup order.
    package mutating func updateEntries(_ update: (inout ModelEntry) -> Void) {
        for index in self.listed.indices { update(&self.listed[index]) }
        for index in self.patterns.indices { update(&self.patterns[index]) }
        self.exact = Dictionary(self.listed.map { ($0.name, $0) }) { _, last in last }
    }
}
