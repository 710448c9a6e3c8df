//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1
import SidecarModel
import Translate

/// `POST /v1/messages/count_tokens`: `{"input_tokens": N}` for a Messages request (without
/// `max_tokens`).
///
/// When the model's first deployment is an `anthropic` provider, the provider counts (the
/// client's body, model name replaced, sent to its `/v1/messages/count_tokens`); otherwise the
/// sidecar answers with its own estimate (``TokenEstimator``, the one quotas reserve by),
/// marked `X-Sidecar-Token-Count: estimated`. Counting generates nothing, so no output tokens
/// are reserved against the quotas. Errors are in Anthropic's shape.
struct CountTokensEndpoint: Endpoint {
    let operation = "count_tokens"

    func parse(_ request: ServerRequest, body: ByteBuffer, context: inout RequestContext) throws(ProxyError) -> MessagesEndpoint.Request {
        let headers = try AnthropicClientHeaders(request)
        let messages: MessagesRequest
        do {
            messages = try MessagesRequest(parsing: body.readableBytesView, counting: true)
        } catch {
            throw ProxyError(error)
        }
        try NamePolicy.model.checked(messages.model)
        try NamePolicy.taskType.checked(messages.taskType)
        context.taskType = try NamePolicy.taskTypeHeader.checked(request.header("X-Task-Type"))
        context.requestedModel = messages.model
        return MessagesEndpoint.Request(messages: messages, headers: headers)
    }

    func route(
        _ request: MessagesEndpoint.Request,
        of original: ServerRequest,
        context: RequestContext
    ) throws(ProxyError) -> Route<MessagesEndpoint.Request> {
        let messages = request.messages
        let taskType = messages.taskType ?? context.taskType
        var decisions: [RouteDecision] = []
        let plan = try context.client.authorize(
            Router(snapshot: context.snapshot).plan(model: messages.model, taskType: taskType),
            requestedModel: messages.model,
            decisions: &decisions
        )
        let estimate = TokenEstimator.estimatePromptTokens(messages.chat)
        guard plan.steps.first?.deployments.first?.provider.dialect is AnthropicDialect else {
            return .local(["input_tokens": .int(estimate)], headers: ["X-Sidecar-Token-Count": "estimated"])
        }
        let need = Preflight.Need(promptTokens: estimate, requestedOutput: 0, generates: false)
        return .model(
            ModelRoute(model: messages.model, taskType: taskType, need: need) { request, target, provider throws(ProxyError) in
                guard let anthropic = provider.dialect as? AnthropicDialect else {
                    throw ProxyError(.unsupportedFeature, "Tokens are counted by Anthropic providers only; this fallback is not one.", param: "model")
                }
                var body = request.messages.body
                body.removeValue(forKey: "max_tokens")
                return anthropic.encodeMessages(
                    body,
                    target: target,
                    version: request.headers.version,
                    betas: request.headers.betas,
                    streaming: false,
                    counting: true
                )
            } answer: { _, _ in
                .whole { bytes, _ in bytes }
            }
        )
    }

    func render(_ error: ProxyError, context: RequestContext) -> (HTTPResponseStatus, JSONObject) {
        (HTTPResponseStatus(statusCode: error.anthropicStatus), error.anthropicBody.json)
    }
}
