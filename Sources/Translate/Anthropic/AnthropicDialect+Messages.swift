//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension AnthropicDialect {
    /// The provider request for a Messages request sent to Anthropic itself: the client's body
    /// with only `model` replaced (every other member — `cache_control`, signed thinking blocks,
    /// citations, fields the sidecar does not know — kept in order, numbers as written), under
    /// the dialect's headers.
    ///
    /// - Parameters:
    ///   - version: the client's `anthropic-version` (already checked), else the configured one.
    ///   - betas: the client's `anthropic-beta` flags (already checked), sent after the
    ///     configured ones, each once.
    ///   - counting: `POST /v1/messages/count_tokens` instead of `/v1/messages`.
    public func encodeMessages(
        _ body: JSONObject,
        target: UpstreamTarget,
        version: String?,
        betas: [String],
        streaming: Bool,
        counting: Bool = false
    ) -> EncodedRequest {
        var body = body
        body["model"] = .string(target.model)
        var dialect = self
        if let version { dialect.version = version }
        for beta in betas where !dialect.betas.contains(beta) { dialect.betas.append(beta) }
        return EncodedRequest(
            path: counting ? "/v1/messages/count_tokens" : "/v1/messages",
            headers: dialect.headers(streaming: streaming),
            body: body.serialized(),
            isStreaming: streaming
        )
    }
}
