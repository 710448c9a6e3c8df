//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Request fields only OpenAI understands and whose loss would change the answer a client gets:
/// a translating dialect answers them with a 400 naming the field instead of dropping them.
/// Everything else it does not translate (`user`, `store`, `metadata`, `service_tier`,
/// `prediction`, `stream_options`…) is dropped.
enum OpenAIOnlyFields {
    /// Each field and when a value counts as asking for it (`logprobs: false` does not).
    static let all: [(key: String, isSet: @Sendable (JSONValue) -> Bool)] = [
        ("logprobs", { $0.boolValue == true }),
        ("top_logprobs", { !$0.isNull }),
        ("logit_bias", { !($0.objectValue?.isEmpty ?? true) }),
        ("audio", { !$0.isNull }),
        ("modalities", { ($0.arrayValue ?? []).contains { $0.stringValue != "text" } }),
        ("web_search_options", { !$0.isNull }),
        ("functions", { !$0.isNull }),
        ("function_call", { !$0.isNull }),
    ]

    /// - Throws: ``TranslationError/Code/unsupportedFeature`` for the first such field `body` sets,
    ///   naming it and `provider` (e.g. "Gemini").
    static func reject(in body: JSONObject, provider: String) throws(TranslationError) {
        for field in Self.all {
            if let value = body[field.key], field.isSet(value) {
                throw TranslationError(.unsupportedFeature, "\(provider) does not support '\(field.key)'.", param: field.key)
            }
        }
    }
}
