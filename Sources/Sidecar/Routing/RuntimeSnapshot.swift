//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Translate

/// An immutable view of the configuration with every provider ready to use. A request takes
/// one snapshot when it starts and keeps it, so a reload never changes a request midway.
struct RuntimeSnapshot: Sendable {
    let configuration: SidecarConfiguration
    let providers: [String: ProviderRuntime]

    /// - Parameters:
    ///   - network: the transport for providers reached over the network.
    init(configuration: SidecarConfiguration, network: any UpstreamClient) {
        self.configuration = configuration
        var providers: [String: ProviderRuntime] = [:]
        for (name, provider) in configuration.providers {
            let client: any UpstreamClient = provider.dialect == .demo ? DemoUpstreamClient(wordDelay: provider.demoWordDelay) : network
            providers[name] = ProviderRuntime(configuration: provider, dialect: DialectRegistry.dialect(for: provider), client: client)
        }
        self.providers = providers
    }

    /// The model and provider serving `modelName`.
    /// - Throws: 404 for an unknown model, 503 when its provider cannot be used.
    func route(model modelName: String) throws(ProxyError) -> RouteCandidate {
        guard let model = self.configuration.models.resolve(modelName) else {
            throw ProxyError(
                .modelNotFound,
                "The model '\(modelName)' does not exist in this sidecar; GET /v1/models lists the available models.",
                param: "model"
            )
        }
        guard let provider = self.providers[model.entry.provider] else {
            throw ProxyError(.internal, "Model '\(modelName)' names an unknown provider.")
        }
        if let reason = provider.configuration.unusableReason {
            throw ProxyError(.providerUnavailable, "Model '\(modelName)' is unavailable: \(reason).")
        }
        return RouteCandidate(model: model, provider: provider)
    }
}

/// One way to serve a request: a model and the provider behind it.
struct RouteCandidate: Sendable {
    var model: ResolvedModel
    var provider: ProviderRuntime
}
