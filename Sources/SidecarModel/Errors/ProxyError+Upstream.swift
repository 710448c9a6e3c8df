//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import Translate

extension ProxyError {
    /// The client-facing error for a provider's error answer.
    ///
    /// Status policy: the provider rejecting *the sidecar's* key is the sidecar's problem, so it
    /// becomes 502 (not 401, which would send the application hunting for a key it does not
    /// hold); rate limits stay 429 with `Retry-After`; an exhausted account (DeepSeek's 402) is
    /// 429 `insufficient_quota` like OpenAI's; overload (503, Anthropic 529) is 503; timeouts 504;
    /// other provider faults 502; the client's own mistakes keep their 4xx.
    package init(upstream failure: UpstreamFailure, provider: String, retryAfter: Duration?) {
        self.init(.upstreamError, failure.message, param: failure.param, envelopeCode: failure.code)
        self.upstreamFailure = failure
        self.retryAfter = retryAfter
        switch failure.kind {
        case .authentication:
            self.status = 502
            self.envelopeCode = "upstream_authentication_failed"
            self.message = "Provider '\(provider)' rejected the sidecar's API key: \(failure.message)"
        case .permission:
            self.status = 403
            self.type = "invalid_request_error"
        case .rateLimited:
            self.status = 429
            self.type = failure.type ?? "rate_limit_error"
            self.envelopeCode = failure.code ?? "rate_limit_exceeded"
        case .quotaExhausted:
            self.status = 429
            self.type = "insufficient_quota"
            self.envelopeCode = "insufficient_quota"
            self.message = "Provider '\(provider)' reports the account is out of quota or balance: \(failure.message)"
        case .badRequest, .notFound, .payloadTooLarge, .contentFilter:
            self.status = Self.clientStatus(for: failure.kind)
            self.type = "invalid_request_error"
            if failure.kind == .contentFilter { self.envelopeCode = "content_filter" }
        case .overloaded:
            self.status = 503
        case .timeout:
            self.status = 504
        case .serverError:
            self.status = 502
        }
    }

    private static func clientStatus(for kind: UpstreamFailure.Kind) -> Int {
        switch kind {
        case .notFound: 404
        case .payloadTooLarge: 413
        default: 400
        }
    }
}

extension ProxyError {
    /// Whether this failure says the deployment is unhealthy and counts for its breaker: 5xx,
    /// overload, timeouts, connection failures, malformed answers, and a rejected key or
    /// exhausted account. Rate limits and the client's own mistakes do not.
    package var countsAgainstHealth: Bool {
        switch self.code {
        case .upstreamUnreachable, .upstreamConnectionFailed, .upstreamTimeout, .upstreamMalformed: return true
        case .upstreamError:
            switch self.upstreamFailure?.kind {
            case .serverError?, .overloaded?, .timeout?, .authentication?, .permission?, .quotaExhausted?: return true
            default: return false
            }
        default: return false
        }
    }
}
