//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import FoundationEssentials
package import Translate

/// Everything the sidecar knows about one finished request: one JSON line per request.
///
/// The output of a request's context (the runtime's `RequestContext`) when the request ended —
/// whether it succeeded, failed upstream, was rejected, or the client went away mid-stream —
/// written once.
package struct UsageRecord: Sendable {
    /// How a request ended.
    package enum Outcome: String, Sendable {
        /// The provider answered and the whole answer reached the client.
        case success
        /// The sidecar refused the request before contacting a provider (bad body, unknown model…).
        case rejected
        /// The provider answered with an error, or could not be reached.
        case upstreamError = "upstream_error"
        /// A stream broke after it had started (provider error event, dropped connection, bad data).
        case streamError = "stream_error"
        /// The client disconnected before the answer was complete.
        case clientDisconnected = "client_disconnected"
        /// Every candidate's circuit breaker was open: the sidecar failed fast (503 `circuit_open`).
        case circuitOpen = "circuit_open"
    }

    /// Where the token numbers come from.
    package enum UsageSource: String, Sendable {
        case provider
        case estimated
        case none
    }

    package var timestamp = Date()
    package var requestID: String
    /// `openai` for `/v1/*`, `service` for the original `/api/v1/*` API.
    package var api: String
    /// `chat` or `embeddings` (OpenTelemetry `gen_ai.operation.name`).
    package var operation: String
    package var client = ReservedName.anonymousClient
    package var taskType: String?
    package var requestedModel: String?
    /// The configured model that served the request.
    package var model: String?
    /// The configuration entry that served it: the model, or the pattern (`gpt-*`) that matched.
    /// A bounded label for metrics; not written to the usage line.
    package var modelEntry: String?
    package var provider: String?
    package var upstreamModel: String?
    package var responseModel: String?
    package var responseID: String?
    package var stream = false
    package var status = 200
    package var outcome = Outcome.success
    package var errorType: String?
    package var usage: Usage?
    package var usageSource = UsageSource.none
    package var cost: Money?
    package var currency: String?
    package var latencyMilliseconds: Double = 0
    package var timeToFirstChunkMilliseconds: Double?
    package var finishReasons: [String] = []
    /// Provider attempts made (1 without retries).
    package var attempts = 0
    /// Why the request went where it went: every deployment considered, skipped or tried.
    package var routeDecisions: [RouteDecision] = []
    /// Whether the serving model was the requested one, a route primary or a fallback.
    package var routeRole: String?

    package init(requestID: String, api: String, operation: String) {
        self.requestID = requestID
        self.api = api
        self.operation = operation
    }
}
