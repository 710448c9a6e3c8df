//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension OpenAICompatibleDialect {
    /// Classifies an OpenAI-shaped error body (`{"error":{"message","type","param","code"}}`),
    /// including DeepSeek's 402 and DashScope's codes.
    public func decodeError(status: Int, body: [UInt8]) -> UpstreamFailure {
        let json = try? JSONValue.parse(body)
        if let error = json?["error"], error.objectValue != nil {
            return Self.failure(fromErrorObject: error, status: status)
        }
        if let message = json?["message"]?.stringValue {
            // DashScope's native-style body: {"code","message","request_id"}.
            return Self.failure(fromErrorObject: json ?? .null, status: status, fallbackMessage: message)
        }
        return UpstreamFailure.unexplained(status: status)
    }

    static func failure(fromErrorObject error: JSONValue, status: Int?, fallbackMessage: String? = nil) -> UpstreamFailure {
        let type = error["type"]?.stringValue
        let code = error["code"].flatMap { $0.stringValue ?? $0.intValue.map(String.init) }
        let message = error["message"]?.stringValue ?? fallbackMessage ?? "The provider reported an error."
        var kind = status.map(UpstreamFailure.kind(forStatus:)) ?? .serverError
        switch code ?? type ?? "" {
        case "insufficient_quota", "Arrearage": kind = .quotaExhausted
        case "invalid_api_key", "InvalidApiKey": kind = .authentication
        case "data_inspection_failed", "DataInspectionFailed": kind = .contentFilter
        case "rate_limit_exceeded" where status == nil: kind = .rateLimited
        default: break
        }
        return UpstreamFailure(kind: kind, upstreamStatus: status, message: message, type: type, code: code, param: error["param"]?.stringValue)
    }
}
