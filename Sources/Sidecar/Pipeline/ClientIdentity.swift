//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

/// Who is calling: a configured client that presented its token, or — when no clients are
/// configured — the anonymous local caller `default`.
struct ClientIdentity: Sendable {
    var name: String
    /// The client's rules; `nil` for the anonymous caller, who may use everything.
    var settings: ClientSettings?

    /// The caller of `request`: the client whose token SHA-256 matches the presented token
    /// (``presentedToken(_:)``, compared in constant time against every client), else 401.
    static func authenticate(_ request: ServerRequest, clients: [ClientSettings]) throws(ProxyError) -> ClientIdentity {
        guard !clients.isEmpty else { return ClientIdentity(name: ReservedName.anonymousClient) }
        let token = Self.presentedToken(request)
        let hash = SHA256.digest(Array((token ?? "").utf8))
        var match: ClientSettings?
        for client in clients where SHA256.constantTimeEqual(hash, client.tokenHash) {
            match = client
        }
        guard let match, token != nil else {
            throw ProxyError(
                .invalidClientToken,
                token == nil
                    ? "This sidecar requires a client token: send it as the API key (Authorization: Bearer … or x-api-key)."
                    : "The client token is not valid for this sidecar."
            )
        }
        return ClientIdentity(name: match.name, settings: match)
    }

    /// Whether `/api/v1/usage/stats` and `/costs` show this caller every client's totals: the
    /// anonymous caller and clients with `read_all_usage: true` do, other clients see their own.
    var readsAllUsage: Bool { self.settings?.readAllUsage ?? true }

    /// The plan without the candidates this client may not use; 403 when nothing is left.
    ///
    /// Task routing (`auto`, `auto:<task>`) is limited to the client's `task_types`; with `auto`
    /// in its `models` the route's candidates serve as configured, without it only those of them
    /// its `models` allow. A named model and its fallbacks are limited to the client's `models`.
    func authorize(_ plan: RoutePlan, requestedModel: String, decisions: inout [RouteDecision]) throws(ProxyError) -> RoutePlan {
        guard let settings = self.settings else { return plan }
        let routed = ReservedName.routesByTask(requestedModel)
        if routed, let task = plan.taskType, !settings.allows(taskType: task) {
            throw ProxyError(.notAllowed, "Client '\(self.name)' may not use task type '\(task)'.", param: "task_type")
        }
        if routed, settings.followsRoutes { return plan }
        var steps: [RoutePlan.Step] = []
        for step in plan.steps {
            if settings.allows(model: step.model.name) {
                steps.append(step)
            } else {
                decisions.append(
                    RouteDecision(model: step.model.name, deployment: step.model.name, outcome: .skipped, reason: "not_allowed")
                )
            }
        }
        guard !steps.isEmpty else {
            guard routed else {
                throw ProxyError(.notAllowed, "Client '\(self.name)' may not use the model '\(requestedModel)'.", param: "model")
            }
            let models = plan.steps.map(\.model.name).joined(separator: ", ")
            throw ProxyError(
                .notAllowed,
                "Client '\(self.name)' may not use any model of the route for task type '\(plan.taskType ?? "default")' (\(models)); "
                    + "add auto to its models to let routes choose them.",
                param: "model"
            )
        }
        return RoutePlan(taskType: plan.taskType, steps: steps)
    }

    /// The client's token: the `Authorization: Bearer` token (what OpenAI SDKs send), else the
    /// `x-api-key` header (what Anthropic SDKs send). Neither header is ever forwarded.
    static func presentedToken(_ request: ServerRequest) -> String? {
        if let bearer = Self.bearerToken(request) { return bearer }
        guard let key = request.header("x-api-key")?.trimmed, !key.isEmpty else { return nil }
        return String(key)
    }

    static func bearerToken(_ request: ServerRequest) -> String? {
        guard let value = request.header("Authorization"), value.count > 7, value.prefix(7).lowercased() == "bearer " else { return nil }
        let token = value.dropFirst(7).trimmed
        return token.isEmpty ? nil : String(token)
    }
}
