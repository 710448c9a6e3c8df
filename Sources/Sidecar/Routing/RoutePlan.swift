//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Translate

/// The candidates for one request, in the order they are tried.
struct RoutePlan: Sendable {
    /// Why a model is a candidate.
    enum Role: String, Sendable {
        /// The client named it.
        case requested
        /// A primary of the task type's route.
        case primary
        /// A fallback (of the route, or of the requested model).
        case fallback
    }

    /// One candidate model and its deployments.
    struct Step: Sendable {
        var model: ResolvedModel
        var role: Role
        var deployments: [DeploymentChoice]
    }

    /// The task type the plan was made for (`default` when none matched).
    var taskType: String?
    var steps: [Step]
}

/// A deployment as a request can use it: configuration, provider and shared state.
struct DeploymentChoice: Sendable {
    var configuration: DeploymentConfiguration
    var provider: ProviderRuntime
    var state: Deployment

    /// What the provider is asked for, for logs (`deepseek/deepseek-chat`).
    var id: String { self.state.id }
}

/// The deployment that answered, and every decision made on the way.
struct RouteCandidate: Sendable {
    var model: ResolvedModel
    var deployment: DeploymentChoice
    var role: RoutePlan.Role
    var decisions: [RouteDecision] = []

    var provider: ProviderRuntime { self.deployment.provider }

    /// `model=qwen-plus; deployment=dashscope/qwen-plus; role=fallback; after=deepseek/deepseek-chat:upstream_timeout`:
    /// which model served and why, for the `X-Sidecar-Route` header.
    var headerValue: String {
        var value = "model=\(self.model.name); deployment=\(self.deployment.id); role=\(self.role.rawValue)"
        let before = self.decisions.filter { $0.outcome != .served }.map { "\($0.deployment):\($0.reason ?? $0.outcome.rawValue)" }
        if !before.isEmpty { value += "; after=" + before.joined(separator: ",") }
        return value
    }
    var target: UpstreamTarget { self.model.target(on: self.deployment.configuration) }
    var upstreamModel: String { self.target.model }
}
