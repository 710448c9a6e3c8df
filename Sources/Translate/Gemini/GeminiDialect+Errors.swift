//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension GeminiDialect {
    /// Classifies Google's error body, `{"error":{"code","message","status","details"}}` (also
    /// inside a one-element array, as the non-SSE stream sends it).
    ///
    /// A bad key is HTTP 400 `INVALID_ARGUMENT` with reason `API_KEY_INVALID`, so it is read from
    /// the details (or the message) before the status.
    public func decodeError(status: Int, body: [UInt8]) -> UpstreamFailure {
        let json = try? JSONValue.parse(body)
        if let error = (json?["error"] ?? json?[0]?["error"]), error.objectValue != nil {
            return Self.failure(fromErrorObject: error, status: status)
        }
        return UpstreamFailure.unexplained(status: status)
    }

    /// The failure for a Google `error` object; `status` is the HTTP status when there was one
    /// (a stream's error event has only the object's own `code`).
    static func failure(fromErrorObject error: JSONValue, status: Int?) -> UpstreamFailure {
        let statusName = error["status"]?.stringValue
        let message = error["message"]?.stringValue ?? "The provider reported an error."
        let reason = error["details"]?.arrayValue?.lazy.compactMap { $0["reason"]?.stringValue }.first
        let httpStatus = status ?? error["code"]?.intValue
        let kind: UpstreamFailure.Kind
        if reason == "API_KEY_INVALID" || message.contains("API_KEY_INVALID") || message.contains("API key not valid") {
            kind = .authentication
        } else {
            switch statusName {
            case "UNAUTHENTICATED": kind = .authentication
            case "PERMISSION_DENIED": kind = .permission
            case "NOT_FOUND": kind = .notFound
            case "RESOURCE_EXHAUSTED": kind = .rateLimited
            case "INTERNAL", "UNKNOWN", "DATA_LOSS": kind = .serverError
            case "UNAVAILABLE": kind = .overloaded
            case "DEADLINE_EXCEEDED": kind = .timeout
            case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE": kind = .badRequest
            default: kind = httpStatus.map(UpstreamFailure.kind(forStatus:)) ?? .serverError
            }
        }
        return UpstreamFailure(kind: kind, upstreamStatus: httpStatus, message: message, type: statusName, code: reason)
    }
}
