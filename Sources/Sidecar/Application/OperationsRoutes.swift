//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1
import SidecarModel
import Translate

/// The routes for operators: `/healthz`, `/readyz` and `/metrics`, served on the main listener
/// and on `metrics.listen`, to `GET` and to `HEAD` (load balancers and some probes use it): a
/// `HEAD` gets the same status and headers, `Content-Length` included, and no body.
struct OperationsRoutes: Sendable {
    let store: RuntimeStore
    let lifecycle: ServerLifecycle
    let metrics: SidecarMetrics
    let quotas: any QuotaKeeper
    /// The fleet store's health, rendered in `/metrics` when a store is configured.
    let storeHealth: StoreHealth?

    /// The answer for an operations path, `nil` for any other request.
    func respond(to request: ServerRequest) async -> ServerResponse? {
        guard request.method == .GET || request.method == .HEAD else { return nil }
        switch request.path {
        case "/healthz": return .json(["status": "ok"])
        case "/readyz": return self.readiness()
        case "/metrics": return await self.scrape()
        default: return nil
        }
    }

    /// Why the sidecar should not get traffic now; empty when it is ready.
    var notReadyReasons: [String] {
        var reasons: [String] = []
        if self.lifecycle.isDraining { reasons.append("draining: shutting down") }
        let providers = self.store.current.configuration.providers.values
        if !providers.contains(where: \.isUsable) { reasons.append("no provider has its API key") }
        return reasons
    }

    /// 200 `{"status":"ready",…}` or 503 `{"status":"not_ready","reasons":[…],…}`, with each
    /// provider's usability (never its key) and the configuration's fingerprint.
    private func readiness() -> ServerResponse {
        let snapshot = self.store.current
        let reasons = self.notReadyReasons
        var providers = JSONObject()
        for provider in snapshot.configuration.providers.values.sorted(by: { $0.name < $1.name }) {
            providers[provider.name] = ["usable": .bool(provider.isUsable), "dialect": .string(provider.dialect.rawValue)]
        }
        var body: JSONObject = [
            "status": .string(reasons.isEmpty ? "ready" : "not_ready"),
            "draining": .bool(self.lifecycle.isDraining),
            "providers": .object(providers),
            "models": .number(JSONNumber(snapshot.configuration.models.listed.count)),
            "configuration": .string(snapshot.configuration.fingerprint),
        ]
        if !reasons.isEmpty { body["reasons"] = .array(reasons.map(JSONValue.string)) }
        return .json(body, status: reasons.isEmpty ? .ok : .serviceUnavailable)
    }

    private func scrape() async -> ServerResponse {
        let snapshot = self.store.current
        let settings = snapshot.configuration.quotas
        let remaining = await self.quotas.remaining(settings: settings, clients: settings.clients.keys.sorted())
        var text = self.metrics.render(deployments: snapshot.registry.all, ready: self.notReadyReasons.isEmpty, quotas: remaining)
        for family in self.storeHealth.map(SidecarMetrics.storeFamilies) ?? [] { family.render(into: &text) }
        return ServerResponse(
            status: .ok,
            headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
            body: .bytes(ByteBuffer(string: text))
        )
    }
}
