//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A provider's error answer (an HTTP error status, or an error event inside a stream),
/// classified so the sidecar can pick the client's status and decide whether to retry.
public struct UpstreamFailure: Error, Sendable, Hashable {
    /// What went wrong, independent of the provider's wording.
    public enum Kind: String, Sendable, Hashable {
        /// The provider rejected the configured key (401; Gemini's 400 `API_KEY_INVALID`).
        case authentication
        /// The key may not use this model or region (403).
        case permission
        /// A rate limit (429, DashScope `Throttling`); retryable after a delay.
        case rateLimited
        /// The account is out of money or quota (DeepSeek 402, OpenAI `insufficient_quota`); not retryable.
        case quotaExhausted
        /// The provider judged the request invalid (400, 422).
        case badRequest
        /// Unknown model or path (404).
        case notFound
        /// The request is too large (413).
        case payloadTooLarge
        /// The provider is overloaded (503, Anthropic 529); retryable.
        case overloaded
        /// An internal provider error (500, 502 and other 5xx); retryable.
        case serverError
        /// The provider timed out (408, 504); retryable.
        case timeout
        /// A content-moderation block (DashScope `DataInspectionFailed`).
        case contentFilter
    }

    public var kind: Kind
    /// The provider's HTTP status, when the failure came with one.
    public var upstreamStatus: Int?
    /// The provider's message (scrubbed of secrets by the sidecar before it reaches a client).
    public var message: String
    /// The provider's error type (`rate_limit_error`, `RESOURCE_EXHAUSTED`, …).
    public var type: String?
    /// The provider's error code (`rate_limit_exceeded`, `InvalidApiKey`, …).
    public var code: String?
    public var param: String?

    public init(kind: Kind, upstreamStatus: Int?, message: String, type: String? = nil, code: String? = nil, param: String? = nil) {
        self.kind = kind
        self.upstreamStatus = upstreamStatus
        self.message = message
        self.type = type
        self.code = code
        self.param = param
    }

    /// Whether trying again (the same or another deployment) may succeed.
    public var isRetryable: Bool {
        switch self.kind {
        case .rateLimited, .overloaded, .serverError, .timeout: true
        default: false
        }
    }

    /// The failure for an error answer whose body says nothing usable: classified by its status.
    public static func unexplained(status: Int) -> UpstreamFailure {
        UpstreamFailure(
            kind: Self.kind(forStatus: status),
            upstreamStatus: status,
            message: "The provider answered HTTP \(status) without an error message."
        )
    }

    /// The kind implied by an HTTP status alone.
    public static func kind(forStatus status: Int) -> Kind {
        switch status {
        case 401: .authentication
        case 402: .quotaExhausted
        case 403: .permission
        case 404: .notFound
        case 408, 504: .timeout
        case 413: .payloadTooLarge
        case 429: .rateLimited
        case 503, 529: .overloaded
        case 400..<500: .badRequest
        default: .serverError
        }
    }
}
