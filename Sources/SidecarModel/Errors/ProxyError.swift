//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import Translate

/// Every error the sidecar answers a client with, rendered as the OpenAI error envelope.
///
/// ``shortDescription`` is the code's fixed name — no dynamic values — so it is safe as a
/// metric label and as the usage line's `error.type`. Messages never contain keys.
package struct ProxyError: Error, Sendable, CustomStringConvertible {
    /// The error category; it fixes the HTTP status unless an upstream status overrides it.
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        package let name: String
        package let status: Int
        package let type: String

        /// The request body is not a valid request (400).
        package static let invalidRequest = Code(name: "invalid_request", status: 400, type: "invalid_request_error")
        /// The request needs something the chosen provider cannot do (400).
        package static let unsupportedFeature = Code(name: "unsupported_feature", status: 400, type: "invalid_request_error")
        /// No configured model matches the requested name (404).
        package static let modelNotFound = Code(name: "model_not_found", status: 404, type: "invalid_request_error")
        /// No route for the path (404).
        package static let notFound = Code(name: "not_found", status: 404, type: "invalid_request_error")
        /// `previous_response_id` names no stored response (400, as OpenAI answers it).
        package static let previousResponseNotFound = Code(name: "previous_response_not_found", status: 400, type: "invalid_request_error")
        /// A method the route does not forward (405), such as `TRACE` or `CONNECT` on passthrough.
        package static let methodNotAllowed = Code(name: "method_not_allowed", status: 405, type: "invalid_request_error")
        /// The request body exceeds `server.max_request_body` (413).
        package static let requestTooLarge = Code(name: "request_too_large", status: 413, type: "invalid_request_error")
        /// The provider cannot be used, e.g. its key is not configured (503).
        package static let providerUnavailable = Code(name: "provider_unavailable", status: 503, type: "server_error")
        /// The provider answered with an error; the status follows ``UpstreamFailure/Kind``.
        package static let upstreamError = Code(name: "upstream_error", status: 502, type: "server_error")
        /// Every candidate deployment's circuit breaker is open (503, with `Retry-After`).
        package static let circuitOpen = Code(name: "circuit_open", status: 503, type: "server_error")
        /// No candidate deployment answered: all failed, were busy or had open breakers (503).
        package static let allCandidatesFailed = Code(name: "all_candidates_failed", status: 503, type: "server_error")
        /// The provider could not be reached: DNS, connect, TLS or proxy failure (502).
        package static let upstreamUnreachable = Code(name: "upstream_unreachable", status: 502, type: "server_error")
        /// The provider did not answer in time (504).
        package static let upstreamTimeout = Code(name: "upstream_timeout", status: 504, type: "server_error")
        /// The connection to the provider failed mid-exchange (502).
        package static let upstreamConnectionFailed = Code(name: "upstream_connection_failed", status: 502, type: "server_error")
        /// The provider's answer was larger than the sidecar accepts (502).
        package static let upstreamResponseTooLarge = Code(name: "upstream_response_too_large", status: 502, type: "server_error")
        /// The provider's answer did not follow its own format (502).
        package static let upstreamMalformed = Code(name: "upstream_malformed_response", status: 502, type: "server_error")
        /// The client's token is missing or wrong (401).
        package static let invalidClientToken = Code(name: "invalid_api_key", status: 401, type: "invalid_request_error")
        /// The client may not use this model or task type (403).
        package static let notAllowed = Code(name: "model_not_allowed", status: 403, type: "permission_error")
        /// The request did not arrive completely within `server.request_read_timeout` (408).
        package static let requestTimeout = Code(name: "request_timeout", status: 408, type: "invalid_request_error")
        /// The request headers exceed 80 KiB (431).
        package static let headersTooLarge = Code(name: "request_headers_too_large", status: 431, type: "invalid_request_error")
        /// The request path is longer than the runtime's `RequestPath.maximumBytes` (414).
        package static let uriTooLong = Code(name: "uri_too_long", status: 414, type: "invalid_request_error")
        /// `server.max_streams` streams are already open (503).
        package static let tooManyStreams = Code(name: "too_many_streams", status: 503, type: "server_error")
        /// Holding the request's body or the provider's answer would exceed
        /// `server.max_buffered_bytes` (503, `Retry-After: 1`).
        package static let bufferBudgetExhausted = Code(name: "buffer_budget_exhausted", status: 503, type: "server_error")
        /// `server.max_connections` client connections are already open (503, then closed).
        package static let tooManyConnections = Code(name: "too_many_connections", status: 503, type: "server_error")
        /// A configured quota would be exceeded (429, with `Retry-After` when it resets).
        package static let quotaExceeded = Code(name: "quota_exceeded", status: 429, type: "rate_limit_error")
        /// The fleet's quota store cannot be reached and `store.on_store_failure` is `deny`.
        package static let quotaStoreUnavailable = Code(name: "quota_store_unavailable", status: 503, type: "server_error")
        /// The fleet's store did not answer a read of fleet-wide figures (`?scope=fleet`).
        package static let storeUnavailable = Code(name: "store_unavailable", status: 503, type: "server_error")
        /// The prompt (plus `max_tokens`) does not fit any candidate's context window (400).
        package static let contextLengthExceeded = Code(name: "context_length_exceeded", status: 400, type: "invalid_request_error")
        /// The drain deadline after SIGTERM passed before the answer was complete.
        package static let shuttingDown = Code(name: "shutting_down", status: 503, type: "server_error")
        /// The client went away or the transfer was stopped (499, never sent).
        package static let cancelled = Code(name: "cancelled", status: 499, type: "server_error")
        /// A bug in the sidecar (500).
        package static let `internal` = Code(name: "internal_error", status: 500, type: "server_error")

        package var description: String { self.name }
    }

    package var code: Code
    package var message: String
    package var param: String?
    /// The HTTP status sent to the client.
    package var status: Int
    /// The OpenAI envelope's `type`.
    package var type: String
    /// The OpenAI envelope's `code`.
    package var envelopeCode: String?
    /// How long the client should wait before trying again, from the provider or a quota; sent
    /// as `Retry-After` in whole seconds, rounded up.
    package var retryAfter: Duration?
    /// The provider failure behind an ``Code/upstreamError``.
    package var upstreamFailure: UpstreamFailure?

    package init(_ code: Code, _ message: String, param: String? = nil, envelopeCode: String? = nil) {
        self.code = code
        self.message = message
        self.param = param
        self.status = code.status
        self.type = code.type
        self.envelopeCode = envelopeCode ?? code.name
    }

    /// `retryAfter` as a `Retry-After` header value: whole seconds, rounded up.
    package var retryAfterHeader: String? {
        guard let retryAfter else { return nil }
        let (seconds, attoseconds) = retryAfter.components
        return String(max(0, seconds + (attoseconds > 0 ? 1 : 0)))
    }

    /// The fixed, low-cardinality name of this error (the code's name).
    package var shortDescription: String { self.code.name }

    /// Whether another attempt (same or other deployment) may succeed.
    package var isRetryable: Bool {
        switch self.code {
        case .upstreamUnreachable, .upstreamTimeout, .upstreamConnectionFailed: true
        case .upstreamError: self.upstreamFailure?.isRetryable ?? false
        default: false
        }
    }

    /// The OpenAI error envelope for this error.
    package var openAIBody: OpenAIErrorBody {
        OpenAIErrorBody(message: self.message, type: self.type, param: self.param, code: self.envelopeCode)
    }

    package var description: String { "\(self.code.name) (\(self.status)): \(self.message)" }
}

extension ProxyError {
    /// A client-side translation error (400) or a provider payload error (502).
    package init(_ error: TranslationError) {
        if error.isClientError {
            self.init(error.code == .unsupportedFeature ? .unsupportedFeature : .invalidRequest, error.message, param: error.param)
        } else {
            self.init(.upstreamMalformed, "The provider's answer could not be translated: \(error.message)")
        }
    }
}
