//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Translate

/// An immutable view of the configuration with every provider ready to use. A request takes
/// one snapshot when it starts and keeps it, so a reload never changes a request midway.
struct RuntimeSnapshot: Sendable {
    let configuration: SidecarConfiguration
    let providers: [String: ProviderRuntime]
    /// Deployment health and load, shared with the snapshots before and after this one.
    let registry: DeploymentRegistry
    /// Removes every provider's keys (and keys retired by earlier reloads) from what providers
    /// send back to clients.
    let scrubber: SecretScrubber

    /// - Parameters:
    ///   - network: the transport for providers reached over the network.
    ///   - registry: the deployments' shared state (pass the previous one on reload).
    ///   - retired: keys still scrubbed although no longer configured (on reload, the previous
    ///     snapshot's `scrubber.secrets`, so a rotated key echoed late is still caught).
    init(
        configuration: SidecarConfiguration,
        network: any UpstreamClient,
        registry: DeploymentRegistry = DeploymentRegistry(),
        retired: [Secret] = []
    ) {
        self.configuration = configuration
        self.registry = registry
        let keys = configuration.providers.keys.sorted().flatMap { configuration.providers[$0]?.apiKeys ?? [] }
        self.scrubber = SecretScrubber(keys: keys, retired: retired)
        var providers: [String: ProviderRuntime] = [:]
        for (name, provider) in configuration.providers {
            let client: any UpstreamClient = provider.dialect.kind.isBuiltIn ? DemoUpstreamClient(wordDelay: provider.demoWordDelay) : network
            providers[name] = ProviderRuntime(
                configuration: provider,
                dialect: DialectRegistry.dialect(for: provider),
                client: client,
                resilience: configuration.resilience,
                keys: KeyRing(provider.apiKeys),
                scrubber: self.scrubber
            )
        }
        self.providers = providers
    }

    /// The deployments serving `model`, in configuration order.
    func deployments(of model: ResolvedModel) -> [DeploymentChoice] {
        model.entry.deployments.compactMap { configuration in
            guard let provider = self.providers[configuration.provider] else { return nil }
            let id = "\(configuration.provider)/\(configuration.upstreamModel ?? model.name)"
            let state = self.registry.deployment(id: id, policy: self.configuration.resilience.breaker)
            return DeploymentChoice(configuration: configuration, provider: provider, state: state)
        }
    }
}
