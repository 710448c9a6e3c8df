//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import NIOCore
import SidecarModel
import Translate

/// `POST /v1/responses`, OpenAI's Responses API, routed by model or task type (`X-Task-Type`,
/// `metadata.task_type`) like chat. A deployment whose provider speaks Responses
/// (``SidecarModel/ProviderConfiguration/speaksResponses``) gets the body as sent with its model
/// name; every other gets it translated through the chat model (``ResponsesRequest/chatRequest(history:)``)
/// and its answer built back as a `response` (``ResponseBuilder``, ``ResponsesStreamEncoder``).
///
/// Conversation state for translated requests lives in the sidecar's ``ResponseStore``:
/// `previous_response_id` continues a stored conversation of the same client (400
/// `previous_response_not_found` when there is none, as at OpenAI), and a response with `store` (the default)
/// is kept. A native provider keeps its own; a conversation the sidecar stored is sent to one
/// inline.
struct ResponsesEndpoint: Endpoint {
    let operation = "chat"
    let store: any ResponseStore

    /// A Responses request and what it continues.
    struct Request: Sendable {
        var responses: ResponsesRequest
        /// The stored conversation `previous_response_id` names, when the sidecar has it.
        var history: [JSONObject]?
        /// The request in the chat model, or why it cannot be translated.
        var chat: Result<ChatRequest, TranslationError>
        /// The id and creation time of a translated answer.
        var builder: ResponseBuilder
        var client: String
    }

    func parse(_ request: ServerRequest, body: ByteBuffer, context: inout RequestContext) async throws(ProxyError) -> Request {
        context.taskType = try NamePolicy.taskTypeHeader.checked(request.header("X-Task-Type"))
        let responses: ResponsesRequest
        do {
            responses = try ResponsesRequest(parsing: body.readableBytesView)
        } catch {
            throw ProxyError(error)
        }
        if let model = responses.model { try NamePolicy.model.checked(model) }
        try NamePolicy.metadataTaskType.checked(responses.taskType)
        context.requestedModel = responses.model
        context.streaming = responses.stream
        var history: [JSONObject]?
        if let previous = responses.previousResponseID {
            history = try await self.store.load(id: previous, client: context.client.name)?.conversation
        }
        let chat = Result { () throws(TranslationError) in try responses.chatRequest(history: history ?? []) }
        let builder = ResponseBuilder(id: Self.freshID(), createdAt: Int(Date().timeIntervalSince1970), request: responses)
        return Request(responses: responses, history: history, chat: chat, builder: builder, client: context.client.name)
    }

    /// A request without `model` (a stored prompt at OpenAI names it) goes unchanged to the
    /// passthrough provider, like any other path it forwards.
    func route(_ request: Request, of original: ServerRequest, context: RequestContext) throws(ProxyError) -> Route<Request> {
        guard let model = request.responses.model else {
            return .provider(try PassthroughEndpoint.route(try PassthroughEndpoint.forwarded(original), of: original, context: context))
        }
        let prompt: Int
        switch request.chat {
        case .success(let chat): prompt = TokenEstimator.estimatePromptTokens(chat)
        case .failure: prompt = TextTally(String(decoding: original.body.readableBytesView, as: UTF8.self)).estimatedTokens
        }
        let need = Preflight.Need(promptTokens: prompt, requestedOutput: request.responses.maxOutputTokens, generates: true)
        let store = self.store
        return .model(
            ModelRoute(model: model, taskType: request.responses.taskType ?? context.taskType, need: need) {
                request,
                target,
                provider throws(ProxyError) in
                if provider.configuration.speaksResponses { return Self.native(request, model: target.model) }
                return try Self.translated(request, target: target, provider: provider)
            } answer: { request, route in
                if route.provider.configuration.speaksResponses {
                    if request.responses.stream { return .stream(NativeResponsesRelay(route: route, promptTokens: prompt)) }
                    return .whole { bytes, context throws(ProxyError) in
                        try NativeResponsesRelay.decode(bytes, route: route, promptTokens: prompt, context: &context)
                    }
                }
                let chat: ChatRequest
                switch request.chat {
                case .success(let translated): chat = translated
                case .failure(let error): return .whole { _, _ throws(ProxyError) in throw ProxyError(error) }
                }
                if request.responses.stream {
                    return .stream(
                        TranslatingRelay(request: chat, route: route, encoder: ResponsesStreamEncoder(builder: request.builder)) { encoder in
                            if let response = encoder.finalResponse { Self.keep(response, of: request, in: store) }
                        }
                    )
                }
                return .whole { bytes, context throws(ProxyError) in
                    try Self.decode(bytes, of: request, chat: chat, route: route, store: store, context: &context)
                }
            }
        )
    }

    /// `resp_` and 24 hexadecimal digits.
    static func freshID() -> String {
        FastRandom.identifier("resp_", digits: 24)
    }

    /// The body as sent, for the provider's `/responses`: its model name, and a conversation the
    /// sidecar stored sent inline (the provider cannot know its id).
    private static func native(_ request: Request, model: String) -> EncodedRequest {
        var body = request.responses.body
        body["model"] = .string(model)
        if let history = request.history {
            body["input"] = .array((history + request.responses.input).map(JSONValue.object))
            body["previous_response_id"] = nil
        }
        var headers = [HTTPHeader("Content-Type", "application/json")]
        if request.responses.stream { headers.append(HTTPHeader("Accept", "text/event-stream")) }
        return EncodedRequest(path: "/responses", headers: headers, body: body.serialized(), isStreaming: request.responses.stream)
    }

    /// The request in the provider's dialect, through the chat model.
    private static func translated(_ request: Request, target: UpstreamTarget, provider: ProviderRuntime) throws(ProxyError) -> EncodedRequest {
        if let id = request.responses.previousResponseID, request.history == nil {
            throw ProxyError(.previousResponseNotFound, "Previous response with id '\(id)' not found.", param: "previous_response_id")
        }
        do throws(TranslationError) {
            return try provider.dialect.encodeRequest(try request.chat.get(), target: target)
        } catch {
            throw ProxyError(error)
        }
    }

    /// A whole translated answer as a `response`, billed, and kept when asked.
    private static func decode(
        _ bytes: [UInt8],
        of request: Request,
        chat: ChatRequest,
        route: RouteCandidate,
        store: any ResponseStore,
        context: inout RequestContext
    ) throws(ProxyError) -> [UInt8] {
        let completion = try context.decodeCompletion(bytes, of: chat, from: route)
        let response = request.builder.response(from: completion, usageExtras: context.billing?.usageFields ?? [:])
        context.answer.responseID = request.builder.id
        Self.keep(response, of: request, in: store)
        return response.serialized()
    }

    /// Stores `response` when the request asked for it (`store`, default true), with every input
    /// item the model saw as `input_items` lists them: each with an id (`msg_…` when the client
    /// sent none), a message's text as an `input_text` part.
    private static func keep(_ response: JSONObject, of request: Request, in store: any ResponseStore) {
        guard request.responses.store else { return }
        var items = request.history ?? []
        for var item in request.responses.input {
            if item["id"] == nil { item["id"] = .string(request.builder.itemID("msg_in", items.count)) }
            if case .string(let text)? = item["content"] {
                item["type"] = "message"
                item["content"] = [["type": "input_text", "text": .string(text)]]
            }
            items.append(item)
        }
        store.save(StoredResponse(response: response, inputItems: items, client: request.client))
    }
}
