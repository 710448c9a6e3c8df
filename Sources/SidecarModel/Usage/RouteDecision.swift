//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What happened to one candidate deployment while serving a request.
package struct RouteDecision: Sendable, Hashable {
    package enum Outcome: String, Sendable {
        case served
        case failed
        case skipped
    }

    package var model: String
    package var deployment: String
    package var outcome: Outcome
    /// Why it was skipped or failed (`breaker_open`, `busy`, `no_key`, an error code).
    package var reason: String?

    package init(
        model: String,
        deployment: String,
        outcome: Outcome,
        reason: String? = nil
    ) {
        self.model = model
        self.deployment = deployment
        self.outcome = outcome
        self.reason = reason
    }
}
