//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension AnthropicDialect {
    /// Classifies Anthropic's error body, `{"type":"error","error":{"type","message"}}`, by its
    /// error type (falling back to the status), keeping the message and type.
    public func decodeError(status: Int, body: [UInt8]) -> UpstreamFailure {
        if let error = (try? JSONValue.parse(body))?["error"], error.objectValue != nil {
            return Self.failure(fromErrorObject: error, status: status)
        }
        return UpstreamFailure.unexplained(status: status)
    }

    /// The failure for an Anthropic `error` object, from an error answer or an `error` stream event.
    static func failure(fromErrorObject error: JSONValue, status: Int?) -> UpstreamFailure {
        let type = error["type"]?.stringValue
        let kind = type.flatMap(Self.kind(forErrorType:)) ?? status.map(UpstreamFailure.kind(forStatus:)) ?? .serverError
        return UpstreamFailure(
            kind: kind,
            upstreamStatus: status,
            message: error["message"]?.stringValue ?? "The provider reported an error.",
            type: type
        )
    }

    /// The kind of each documented Anthropic error type.
    static func kind(forErrorType type: String) -> UpstreamFailure.Kind? {
        switch type {
        case "invalid_request_error": .badRequest
        case "authentication_error": .authentication
        case "billing_error": .quotaExhausted
        case "permission_error": .permission
        case "not_found_error": .notFound
        case "request_too_large": .payloadTooLarge
        case "rate_limit_error": .rateLimited
        case "api_error": .serverError
        case "timeout_error": .timeout
        case "overloaded_error": .overloaded
        default: nil
        }
    }
}
