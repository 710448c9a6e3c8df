//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension DashScopeNativeDialect {
    /// Classifies DashScope's error body, `{"code","message","request_id"}`, by its code first
    /// (several different failures share HTTP 400) and by the status otherwise.
    public func decodeError(status: Int, body: [UInt8]) -> UpstreamFailure {
        guard let object = (try? JSONValue.parse(body))?.objectValue, object["code"] != nil || object["message"] != nil else {
            return UpstreamFailure.unexplained(status: status)
        }
        return Self.failure(from: object, status: status)
    }

    /// The failure for an error body or an in-stream error event (`status` is then `nil`).
    static func failure(from object: JSONObject, status: Int?) -> UpstreamFailure {
        let code = object["code"]?.stringValue
        let message = object["message"]?.stringValue ?? "The provider reported an error."
        let kind: UpstreamFailure.Kind
        switch code ?? "" {
        case "InvalidApiKey": kind = .authentication
        case "AccessDenied", "Model.AccessDenied", "AccessDenied.Unpurchased": kind = .permission
        case "DataInspectionFailed", "data_inspection_failed": kind = .contentFilter
        case "Arrearage": kind = .quotaExhausted
        case "ModelNotFound", "ModelNotExist": kind = .notFound
        case let code where code.hasPrefix("Throttling"): kind = .rateLimited
        case let code where code == "InvalidParameter" || code.hasPrefix("InvalidParameter.") || code.hasPrefix("BadRequest"): kind = .badRequest
        case let code where code.hasPrefix("InternalError"): kind = code.hasSuffix(".Timeout") ? .timeout : .serverError
        case "ServiceUnavailable", "ServiceUnavailableError": kind = .overloaded
        default: kind = status.map(UpstreamFailure.kind(forStatus:)) ?? .serverError
        }
        return UpstreamFailure(kind: kind, upstreamStatus: status, message: message, type: nil, code: code)
    }
}
