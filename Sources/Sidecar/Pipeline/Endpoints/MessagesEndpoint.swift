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

/// `POST /v1/messages`: an Anthropic Messages request routed by model or task type
/// (`X-Task-Type`, `metadata.task_type`) like a chat request.
///
/// To an `anthropic` provider the client's body goes as sent but for the model name (see
/// ``AnthropicDialect/encodeMessages(_:target:version:betas:streaming:counting:)``), and the
/// answer comes back byte for byte (scrubbed of keys); to every other provider it is translated
/// to the canonical ``ChatRequest`` (``MessagesRequest/chatRequest(for:)``) and the answer back
/// to a `message` or Messages stream events. Errors, the sidecar's own included, are answered
/// in Anthropic's shape (``ProxyError/anthropicBody``).
struct MessagesEndpoint: Endpoint {
    let operation = "chat"

    /// A parsed request with the client's Anthropic headers.
    struct Request: Sendable {
        var messages: MessagesRequest
        var headers: AnthropicClientHeaders
    }

    func parse(_ request: ServerRequest, body: ByteBuffer, context: inout RequestContext) throws(ProxyError) -> Request {
        context.taskType = try NamePolicy.taskTypeHeader.checked(request.header("X-Task-Type"))
        let headers = try AnthropicClientHeaders(request)
        let messages: MessagesRequest
        do {
            messages = try MessagesRequest(parsing: body.readableBytesView)
        } catch {
            throw ProxyError(error)
        }
        try NamePolicy.model.checked(messages.model)
        try NamePolicy.taskType.checked(messages.taskType)
        context.requestedModel = messages.model
        context.streaming = messages.stream
        return Request(messages: messages, headers: headers)
    }

    func route(_ request: Request, of original: ServerRequest, context: RequestContext) -> Route<Request> {
        let messages = request.messages
        let need = Preflight.Need(
            promptTokens: TokenEstimator.estimatePromptTokens(messages.chat),
            requestedOutput: messages.maxTokens,
            generates: true
        )
        return .model(
            ModelRoute(model: messages.model, taskType: messages.taskType ?? context.taskType, need: need) {
                request,
                target,
                provider throws(ProxyError) in
                try Self.encode(request, target: target, provider: provider)
            } answer: { request, route in
                Self.answer(request.messages, route: route)
            }
        )
    }

    func render(_ error: ProxyError, context: RequestContext) -> (HTTPResponseStatus, JSONObject) {
        (HTTPResponseStatus(statusCode: error.anthropicStatus), error.anthropicBody.json)
    }

    /// The provider request: the client's own body for Anthropic, a translation for the rest.
    private static func encode(_ request: Request, target: UpstreamTarget, provider: ProviderRuntime) throws(ProxyError) -> EncodedRequest {
        if let anthropic = provider.dialect as? AnthropicDialect {
            return anthropic.encodeMessages(
                request.messages.body,
                target: target,
                version: request.headers.version,
                betas: request.headers.betas,
                streaming: request.messages.stream
            )
        }
        do throws(TranslationError) {
            return try provider.dialect.encodeRequest(try request.messages.chatRequest(for: provider.dialect), target: target)
        } catch {
            throw ProxyError(error)
        }
    }

    private static func answer(_ messages: MessagesRequest, route: RouteCandidate) -> Answering {
        let dialect = route.provider.dialect
        let native = dialect is AnthropicDialect
        let chat = native ? messages.chat : (try? messages.chatRequest(for: dialect)) ?? messages.chat
        if messages.stream {
            return .stream(native ? MessagesPassthroughRelay(request: chat, route: route) : MessagesRelay(request: chat, route: route))
        }
        return .whole { bytes, context throws(ProxyError) in
            try Self.decode(bytes, of: chat, from: route, native: native, context: &context)
        }
    }

    /// Bills a whole answer and returns it: Anthropic's own bytes, or the translation of a
    /// `chat.completion` into a `message`.
    private static func decode(
        _ bytes: [UInt8],
        of chat: ChatRequest,
        from route: RouteCandidate,
        native: Bool,
        context: inout RequestContext
    ) throws(ProxyError) -> [UInt8] {
        let completion = try context.decodeCompletion(bytes, of: chat, from: route)
        guard !native else { return bytes }
        return MessagesAnswer.message(from: completion, usage: context.billing?.usage, fallbackID: Self.messageID()).serialized()
    }

    /// A fresh message id for answers whose provider sent none: `msg_` and random hex digits.
    static func messageID() -> String {
        "msg_" + ResponseContext.fresh(model: "").responseID.dropFirst("chatcmpl-".count)
    }
}
