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

/// What one API endpoint adds to the ``Pipeline``: how to read its request, and where the request
/// goes — which models it may use and what it needs from the quotas, how to encode it for a
/// deployment, how to turn the answer back into the endpoint's format, whole or as a stream.
///
/// Everything else is the pipeline's, written once for every endpoint: authentication, stream
/// admission, planning, preflight (context windows and quota reservation), dispatch with retries
/// and failover, settlement of what the request held, and its usage line and audit events. So an
/// endpoint is one file, registered with one line in ``SidecarRouter``.
protocol Endpoint: Sendable {
    /// The request as the endpoint understands it.
    associatedtype Request: Sendable

    /// The usage line's `operation` (`chat`, `embeddings`, `passthrough`).
    var operation: String { get }

    /// Reads the request: parses the body and checks its names. Records on `context` what the
    /// usage line says about the request (requested model, task type, whether it streams).
    /// - Throws: 400 naming the field at fault.
    func parse(_ request: ServerRequest, body: ByteBuffer, context: inout RequestContext) async throws(ProxyError) -> Request

    /// Where `request` goes. May refuse it (a method or path the endpoint does not forward).
    func route(_ request: Request, of original: ServerRequest, context: RequestContext) async throws(ProxyError) -> Route<Request>

    /// `error` in the endpoint's own error shape, with its status: by default the OpenAI envelope
    /// (``ProxyError/openAIBody``), plus `success: false` on the service API.
    func render(_ error: ProxyError, context: RequestContext) -> (HTTPResponseStatus, JSONObject)
}

extension Endpoint {
    func render(_ error: ProxyError, context: RequestContext) -> (HTTPResponseStatus, JSONObject) {
        var body = error.openAIBody.json
        if context.api == .service {
            body["success"] = false
            body["content"] = nil
            body["provider"] = .optional(context.providerName)
        }
        return (HTTPResponseStatus(statusCode: error.status), body)
    }
}

/// Where an endpoint's request goes.
enum Route<Request: Sendable>: Sendable {
    /// Routed by model or task type over the configured deployments, priced, and reserved against
    /// the quotas at its worst case before anything is sent.
    case model(ModelRoute<Request>)
    /// Sent once, unchanged but for the key, to one provider; it cannot be priced, so it counts
    /// against the quotas as a request (see ``Preflight/admitUnpriced(context:)``). A successful
    /// answer is relayed as it arrives, an error answer (status ≥ 400) is read whole (up to
    /// ``Pipeline/maximumErrorBytes``, the rest is dropped) and passed on with its status.
    case provider(ProviderRoute)
    /// Answered by the sidecar itself, without a provider (a token estimate, a stored response):
    /// `body` with status 200, plus `headers`; it counts against the quotas as a request.
    case local(JSONObject, headers: HTTPHeaders)
}

/// A request sent unchanged to one provider: where, what, and how its answer is relayed.
struct ProviderRoute: Sendable {
    var provider: ProviderRuntime
    var request: EncodedRequest
    var relay: any StreamRelay
}

/// A request routed by model: what the pipeline needs to plan, reserve, send and answer it.
struct ModelRoute<Request: Sendable>: Sendable {
    /// The model asked for (`auto` and `auto:<task>` route by task type).
    var model: String
    var taskType: String?
    /// What the request needs from context windows and quotas.
    var need: Preflight.Need
    /// Builds the provider request for a deployment, in its dialect.
    var encode: @Sendable (Request, UpstreamTarget, ProviderRuntime) throws(ProxyError) -> EncodedRequest
    /// How the answer of `route` reaches the client.
    var answer: @Sendable (Request, RouteCandidate) -> Answering
}

/// How a provider's successful answer reaches the client.
enum Answering: Sendable {
    /// Read whole (up to ``Pipeline/maximumResponseBytes``), then translated by `decode`, which
    /// returns the client's body and records the bill and summary on the context.
    case whole(@Sendable ([UInt8], inout RequestContext) throws(ProxyError) -> [UInt8])
    /// Relayed as it arrives.
    case stream(any StreamRelay)
}

/// Translates a provider's body to the client's as it arrives. Value type, owned by the task that
/// relays it; each method returns the bytes to write now, already scrubbed of provider keys.
protocol StreamRelay: Sendable {
    /// The answer's own headers (`Content-Type` among them), given the provider's answer.
    func headers(for upstream: UpstreamResponseHead) -> HTTPHeaders
    /// Translates the next bytes read from the provider.
    /// - Throws: the provider's error event, or a broken or oversized stream.
    mutating func consume(_ bytes: [UInt8]) throws(ProxyError) -> [UInt8]
    /// The provider's body ended: the rest of the answer (a usage chunk, `[DONE]`).
    /// - Throws: when the stream ended before it was complete.
    mutating func finish() throws(ProxyError) -> [UInt8]
    /// The bytes that tell the client the stream broke with `error` (an error event), if the
    /// format has any.
    func failure(_ error: ProxyError) -> [UInt8]
    /// What the stream used and cost so far (`nil` when it cannot be priced).
    var billing: Billing? { get }
    /// Records what the answer said about itself on `context`.
    func summarize(into context: inout RequestContext)
}
