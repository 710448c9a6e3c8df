//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

/// Turns a requested model (or task type) into a ``RoutePlan``.
///
/// `model: "auto"` or `"auto:<task>"` routes by task type — from the model name, the body's
/// `task_type` or the `X-Task-Type` header, in that order — to `routes.<task>` (unknown tasks use
/// `routes.default`): its primary models, then its fallbacks. A named model is tried first,
/// then its own `fallbacks`.
struct Router: Sendable {
    let snapshot: RuntimeSnapshot

    func plan(model name: String, taskType: String?) throws(ProxyError) -> RoutePlan {
        if ReservedName.routesByTask(name) {
            let auto = ReservedName.autoModel
            let task = name.count > auto.count ? String(name.dropFirst(auto.count + 1)) : taskType
            return try self.plan(task: task)
        }
        guard let model = self.snapshot.configuration.models.resolve(name) else {
            throw ProxyError(
                .modelNotFound,
                "The model '\(name)' does not exist in this sidecar; GET /v1/models lists the available models.",
                param: "model"
            )
        }
        var steps = [self.step(model, role: .requested)]
        for fallback in model.entry.fallbacks {
            if let resolved = self.snapshot.configuration.models.resolve(fallback) { steps.append(self.step(resolved, role: .fallback)) }
        }
        return RoutePlan(taskType: taskType, steps: steps)
    }

    private func plan(task: String?) throws(ProxyError) -> RoutePlan {
        let routes = self.snapshot.configuration.routes
        let chosen = task.flatMap { routes[$0] != nil ? $0 : nil } ?? "default"
        guard let route = routes[chosen] else {
            throw ProxyError(
                .modelNotFound,
                "No route for task type '\(task ?? "default")' and no default route: configure routes.default.",
                param: "model"
            )
        }
        let models = self.snapshot.configuration.models
        let primary = route.primary.compactMap { models.resolve($0) }.map { self.step($0, role: .primary) }
        let fallback = route.fallback.compactMap { models.resolve($0) }.map { self.step($0, role: .fallback) }
        return RoutePlan(taskType: chosen, steps: primary + fallback)
    }

    private func step(_ model: ResolvedModel, role: RoutePlan.Role) -> RoutePlan.Step {
        RoutePlan.Step(model: model, role: role, deployments: self.snapshot.deployments(of: model))
    }
}
