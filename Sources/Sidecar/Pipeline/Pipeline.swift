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

/// The one request path every proxied endpoint runs through:
///
/// 1. **authenticate** the client (401, audited);
/// 2. the endpoint **parses** the request (400 naming the field);
/// 3. **admit** it: a `server.max_streams` slot for a stream (503), the client's model rights
///    (403, audited);
/// 4. **plan** its candidates by model or task type (``Router``);
/// 5. **preflight**: drop candidates whose context window is too small, reserve the worst case
///    against the quotas (429, audited);
/// 6. **dispatch** with balancing, breakers, retries and failover (``Dispatcher``);
/// 7. **answer**: the endpoint decodes a whole answer or relays a stream;
/// 8. **settle**: ``RequestHoldings/release(_:billing:)`` gives back everything the request held
///    and records the breaker outcome when the answer's body ended;
/// 9. **account**: the ``RequestContext`` becomes the request's one ``UsageRecord``.
///
/// An endpoint (``Endpoint``) supplies only steps 2 and 7 and what steps 4–6 need.
struct Pipeline: Sendable {
    let services: Services

    /// The largest answer accepted from a provider, whole or streamed (32 MiB).
    static let maximumResponseBytes = 32 << 20
    /// The most of a provider's error body read (64 KiB).
    static let maximumErrorBytes = 64 << 10

    /// Answers `request` through `endpoint`; never throws: an error is answered in the API's
    /// error shape and recorded like any request.
    func serve<E: Endpoint>(_ endpoint: E, _ request: ServerRequest, api: RequestContext.API) async -> ServerResponse {
        let snapshot = self.services.store.current
        var context = RequestContext(id: Self.requestID(for: request), api: api, operation: endpoint.operation, snapshot: snapshot)
        var holdings = RequestHoldings()
        do {
            return try await self.run(endpoint, request, context: &context, holdings: &holdings)
        } catch {
            holdings.release(.failed(error), billing: context.billing)
            return self.respond(error: error, from: endpoint, context: context)
        }
    }

    private func run<E: Endpoint>(
        _ endpoint: E,
        _ request: ServerRequest,
        context: inout RequestContext,
        holdings: inout RequestHoldings
    ) async throws(ProxyError) -> ServerResponse {
        context.client = try self.authenticate(request, snapshot: context.snapshot)
        if let refusal = request.bodyRefusal { throw refusal }
        let parsed = try await endpoint.parse(request, body: request.body, context: &context)
        switch try await endpoint.route(parsed, of: request, context: context) {
        case .model(let route):
            return try await self.serve(parsed, by: route, context: &context, holdings: &holdings)
        case .provider(let route):
            try self.authorizeUnrouted(request, context: context)
            return try await self.send(route.request, to: route.provider, relay: route.relay, context: &context, holdings: &holdings)
        case .local(let body, let extra):
            holdings.quota = try await Preflight(services: self.services, snapshot: context.snapshot).admitUnpriced(context: context)
            var headers = Self.headers(requestID: context.id, contentType: "application/json")
            headers.add(contentsOf: extra)
            return self.respond(status: .ok, headers: headers, bytes: body.serialized(), context: context)
        }
    }

    /// Steps 3–7 for a request routed by model.
    private func serve<Request>(
        _ request: Request,
        by route: ModelRoute<Request>,
        context: inout RequestContext,
        holdings: inout RequestHoldings
    ) async throws(ProxyError) -> ServerResponse {
        if context.streaming { holdings.streamSlot = try self.admitStream(snapshot: context.snapshot) }
        let routed = try self.authorize(Router(snapshot: context.snapshot).plan(model: route.model, taskType: route.taskType), context: &context)
        context.taskType = routed.taskType
        let (plan, reservation) = try await Preflight(services: self.services, snapshot: context.snapshot).admit(
            routed,
            need: route.need,
            context: &context
        )
        holdings.quota = reservation
        let answer = try await self.services.dispatcher(for: context.snapshot).dispatch(plan, streaming: context.streaming, context: &context) {
            step,
            deployment throws(ProxyError) in
            try route.encode(request, step.model.target(on: deployment.configuration), deployment.provider)
        }
        holdings.lease = answer.lease
        switch route.answer(request, answer.candidate) {
        case .whole(let decode):
            return try await self.answerWhole(answer.response, decode: decode, route: answer.candidate, context: &context, holdings: &holdings)
        case .stream(let relay):
            return self.relay(
                answer.response,
                first: answer.firstPiece,
                through: relay,
                route: answer.candidate,
                context: context,
                holdings: holdings.take()
            )
        }
    }

    /// Steps 3–7 for a request sent unchanged to one provider, once.
    private func send(
        _ encoded: EncodedRequest,
        to provider: ProviderRuntime,
        relay: any StreamRelay,
        context: inout RequestContext,
        holdings: inout RequestHoldings
    ) async throws(ProxyError) -> ServerResponse {
        context.destination = .provider(provider.name)
        holdings.quota = try await Preflight(services: self.services, snapshot: context.snapshot).admitUnpriced(context: context)
        context.attempts = 1
        let response = try await provider.client.execute(provider.upstreamRequest(for: encoded), logger: self.services.logger)
        context.status = response.head.status
        guard response.head.status >= 400 else {
            return self.relay(response, first: nil, through: relay, route: nil, context: context, holdings: holdings.take())
        }
        context.outcome = .upstreamError
        let body = context.snapshot.scrubber.scrub(try await Self.errorBody(of: response.body), mode: .error)
        var headers = relay.headers(for: response.head)
        headers.add(name: "X-Request-Id", value: context.id)
        holdings.release(.completed, billing: nil)
        return self.respond(status: HTTPResponseStatus(statusCode: response.head.status), headers: headers, bytes: body, context: context)
    }

    /// The first ``maximumErrorBytes`` of a provider's error answer; the transfer is stopped there.
    private static func errorBody(of body: UpstreamBody) async throws(ProxyError) -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < Self.maximumErrorBytes, let piece = try await body.next() { bytes += piece }
        guard bytes.count >= Self.maximumErrorBytes else { return bytes }
        body.cancel()
        return Array(bytes.prefix(Self.maximumErrorBytes))
    }
}
