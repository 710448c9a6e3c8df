//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Anthropic's error shape, `{"type":"error","error":{"type","message"}}`, which the anthropic
/// SDKs raise as their own exception classes by status (`RateLimitError` for 429,
/// `OverloadedError` for 529, …).
public struct AnthropicErrorBody: Sendable, Hashable {
    /// `invalid_request_error`, `authentication_error`, `permission_error`, `not_found_error`,
    /// `request_too_large`, `rate_limit_error`, `api_error`, `timeout_error`, `overloaded_error`.
    public var type: String
    public var message: String

    public init(type: String, message: String) {
        self.type = type
        self.message = message
    }

    /// The documented error type of each status Anthropic answers with: 400
    /// `invalid_request_error`, 401 `authentication_error`, 403 `permission_error`, 404
    /// `not_found_error`, 413 `request_too_large`, 429 `rate_limit_error`, 504 `timeout_error`,
    /// 529 `overloaded_error`, any other 4xx `invalid_request_error`, else `api_error`.
    public static func type(forStatus status: Int) -> String {
        switch status {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 504: "timeout_error"
        case 529: "overloaded_error"
        case 400..<500: "invalid_request_error"
        default: "api_error"
        }
    }

    public var json: JSONObject {
        ["type": "error", "error": ["type": .string(self.type), "message": .string(self.message)]]
    }

    /// Appends the `error` stream event.
    public func appendEvent(to output: inout [UInt8]) {
        MessagesStreamEncoder.appendEvent("error", self.json, to: &output)
    }
}
