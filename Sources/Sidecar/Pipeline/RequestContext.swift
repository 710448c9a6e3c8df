//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import SidecarModel
import Translate

/// Everything known about one request while the pipeline runs it, typed. It starts with the
/// request's id, API and endpoint, and each stage adds what it learned — the client, the route,
/// the answer, the bill; at the end ``usageRecord()`` turns it into the request's one usage line.
struct RequestContext: Sendable {
    /// Which API a request came in on.
    enum API: String, Sendable {
        /// The OpenAI-compatible `/v1/*` API.
        case openAI = "openai"
        /// The original service API, `/api/v1/*`.
        case service
        /// OpenAI's Responses API, `/v1/responses`.
        case responses
        /// Anthropic's Messages API, `/v1/messages`.
        case anthropic
    }

    /// Where the request went, as far as it got.
    enum Destination: Sendable {
        /// Not routed yet (refused before planning).
        case none
        /// The candidate that answered.
        case served(RouteCandidate)
        /// The candidate charged with a request no deployment served: the first one when all
        /// failed, the one being tried when the request ended early (on `deployment`, else on
        /// its first deployment).
        case unserved(RoutePlan.Step, DeploymentChoice?)
        /// The passthrough provider, by name.
        case provider(String)
    }

    /// What the provider's answer said about itself.
    struct AnswerSummary: Sendable {
        var responseModel: String?
        var responseID: String?
        var finishReasons: [String] = []
    }

    let id: String
    let api: API
    /// The endpoint's operation (`chat`, `embeddings`, `passthrough`): OpenTelemetry `gen_ai.operation.name`.
    let operation: String
    let clock: RequestClock
    let arrived: Date
    /// The runtime the request was admitted under; a reload mid-request does not change it.
    let snapshot: RuntimeSnapshot
    var client = ClientIdentity(name: ReservedName.anonymousClient)
    var taskType: String?
    var requestedModel: String?
    var streaming = false
    var destination = Destination.none
    /// Every deployment considered, skipped or tried, in order.
    var decisions: [RouteDecision] = []
    /// Provider attempts made (1 without retries).
    var attempts = 0
    var answer = AnswerSummary()
    /// What the request used and cost; `nil` until the answer was read.
    var billing: Billing?
    var status = 200
    var outcome = UsageRecord.Outcome.success
    var errorType: String?
    /// When the first relayed bytes were written; a whole answer's first chunk is its end.
    var firstChunkMilliseconds: Double?
    /// Whether the answer is relayed as it arrives rather than written whole.
    var relayed = false

    init(id: String, api: API, operation: String, snapshot: RuntimeSnapshot) {
        self.id = id
        self.api = api
        self.operation = operation
        self.snapshot = snapshot
        self.clock = RequestClock()
        self.arrived = Date()
    }

    /// `context`, its answer relayed as it arrives.
    init(relaying context: RequestContext) {
        self = context
        self.relayed = true
    }

    /// The provider the request went to or was charged to, if any.
    var providerName: String? {
        switch self.destination {
        case .none: nil
        case .served(let route): route.provider.name
        case .unserved(let step, let deployment): (deployment ?? step.deployments.first)?.provider.name
        case .provider(let name): name
        }
    }

    /// Records the answer that served the request and the decisions that led to it.
    mutating func note(_ route: RouteCandidate) {
        self.destination = .served(route)
        self.decisions = route.decisions
    }
}
