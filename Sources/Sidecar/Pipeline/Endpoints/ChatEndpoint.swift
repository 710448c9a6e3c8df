//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import SidecarModel
import Translate

/// `POST /v1/chat/completions` and the service API's `POST /api/v1/chat/completions`: an OpenAI
/// chat request routed by model or task type (`X-Task-Type`, `task_type`), encoded in each
/// deployment's dialect, its answer translated back whole or as OpenAI server-sent events.
struct ChatEndpoint: Endpoint {
    let operation = "chat"

    func parse(_ request: ServerRequest, body: ByteBuffer, context: inout RequestContext) throws(ProxyError) -> ChatRequest {
        context.taskType = try NamePolicy.taskTypeHeader.checked(request.header("X-Task-Type"))
        let chat: ChatRequest
        do {
            chat = try ChatRequest(parsing: body.readableBytesView)
        } catch {
            throw ProxyError(error)
        }
        try NamePolicy.model.checked(chat.model)
        try NamePolicy.taskType.checked(chat.taskType)
        context.requestedModel = chat.model
        context.streaming = chat.stream
        return chat
    }

    func route(_ chat: ChatRequest, of original: ServerRequest, context: RequestContext) -> Route<ChatRequest> {
        let need = Preflight.Need(
            promptTokens: TokenEstimator.estimatePromptTokens(chat),
            requestedOutput: chat.maxOutputTokens,
            choices: chat.options.choiceCount ?? 1,
            generates: true
        )
        let api = context.api
        return .model(
            ModelRoute(model: chat.model, taskType: chat.taskType ?? context.taskType, need: need) { chat, target, provider throws(ProxyError) in
                do throws(TranslationError) {
                    return try provider.dialect.encodeRequest(chat, target: target)
                } catch {
                    throw ProxyError(error)
                }
            } answer: { chat, route in
                if chat.stream {
                    return .stream(TranslatingRelay(request: chat, route: route, encoder: OpenAIStreamEncoder(includeUsage: chat.includeUsage)))
                }
                return .whole { bytes, context throws(ProxyError) in try Self.decode(bytes, of: chat, from: route, api: api, context: &context) }
            }
        )
    }

    /// Translates a whole completion, bills it and, on the service API, adds its fields.
    private static func decode(
        _ bytes: [UInt8],
        of chat: ChatRequest,
        from route: RouteCandidate,
        api: RequestContext.API,
        context: inout RequestContext
    ) throws(ProxyError) -> [UInt8] {
        var completion = try context.decodeCompletion(bytes, of: chat, from: route)
        let billing = context.billing
        if api == .service {
            completion.body = ServiceAPI.augment(completion.body, text: completion.text, provider: route.provider.name, cost: billing?.cost)
            completion.originalBytes = nil
        }
        return completion.serialized()
    }
}
