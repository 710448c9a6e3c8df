//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import ServiceLifecycle
import SidecarModel
import Translate

/// Active health checks (`resilience.health_checks`, off by default): every `interval`, one
/// cheap request — the provider's model list — per provider that serves a deployment, its
/// outcome recorded in the breaker of each of that provider's deployments.
///
/// A check counts exactly like a request: it goes out only when the breaker admits one (so an
/// open breaker is left alone until its cool-down, then a check may be its probe), and only
/// unhealthy answers (5xx, timeouts, connection failures, a rejected key) count as failures.
struct HealthChecker: Service {
    let store: RuntimeStore
    let logger: Logger
    let audit: AuditLog

    /// A whole check, answer included, may take this long (5 s).
    static let timeout: Duration = .seconds(5)

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let settings = self.store.current.configuration.resilience.healthChecks
                if settings.enabled { await self.checkAll() }
                try await Task.sleep(for: settings.interval)
            }
        }
    }

    /// Checks every provider with an admitting deployment, concurrently.
    func checkAll() async {
        let snapshot = self.store.current
        let now = ContinuousClock.now
        var byProvider: [String: (provider: ProviderRuntime, deployments: [Deployment])] = [:]
        for model in snapshot.configuration.models.listed {
            for choice in snapshot.deployments(of: ResolvedModel(name: model.name, entry: model))
            where choice.provider.configuration.isUsable && !choice.provider.configuration.dialect.kind.isBuiltIn {
                guard !(byProvider[choice.provider.name]?.deployments.contains { $0 === choice.state } ?? false) else { continue }
                guard choice.state.admit(at: now, logger: self.logger, audit: self.audit) else { continue }
                byProvider[choice.provider.name, default: (choice.provider, [])].deployments.append(choice.state)
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for (provider, deployments) in byProvider.values {
                group.addTask {
                    let healthy = await self.check(provider)
                    for deployment in deployments { deployment.recordOutcome(success: healthy, at: .now, logger: self.logger, audit: self.audit) }
                }
            }
        }
    }

    /// Whether the provider answered its model list without a sign of ill health.
    private func check(_ provider: ProviderRuntime) async -> Bool {
        var request = provider.upstreamRequest(for: provider.dialect.healthCheckRequest)
        request.timeout = Self.timeout
        do {
            let response = try await provider.client.execute(request, logger: self.logger)
            let status = response.head.status
            _ = try? await response.body.collect(upTo: 1 << 20)
            let healthy = status < 500 && status != 401 && status != 403
            if !healthy {
                self.logger.notice("health check failed", metadata: ["upstream.provider": "\(provider.name)", "http.status": "\(status)"])
            }
            return healthy
        } catch {
            self.logger.notice("health check failed", metadata: ["upstream.provider": "\(provider.name)", "error.type": "\(error.shortDescription)"])
            return false
        }
    }
}
