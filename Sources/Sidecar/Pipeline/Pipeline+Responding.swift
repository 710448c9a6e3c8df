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

extension Pipeline {
    /// Answers with a complete body and writes the request's usage line.
    ///
    /// The server writes the body with the head in one system call. The usage line is written
    /// now: the answer is complete and paid for, whether or not the client is still there. No
    /// provider key leaves in the body (``SecretScrubber/Mode/answer``: some providers echo
    /// request headers in debug fields).
    func respond(status: HTTPResponseStatus, headers: HTTPHeaders, bytes: [UInt8], context: RequestContext) -> ServerResponse {
        let bytes = context.snapshot.scrubber.scrub(bytes, mode: .answer)
        var context = context
        context.status = Int(status.code)
        self.services.usage.record(context.usageRecord())
        return ServerResponse(status: status, headers: headers, body: .bytes(ByteBuffer(bytes: bytes)))
    }

    /// Answers `error` in `endpoint`'s error shape and records it. Every field is scrubbed of
    /// keys and key-shaped values, whatever its origin.
    func respond(error: ProxyError, from endpoint: some Endpoint, context: RequestContext) -> ServerResponse {
        let error = context.snapshot.scrubber.scrub(
            error.code == .cancelled && self.services.lifecycle.isCutOff ? ServerLifecycle.shuttingDown : error
        )
        var context = context
        context.errorType = error.shortDescription
        if context.outcome == .success { context.outcome = Self.outcome(of: error) }
        let (status, body) = endpoint.render(error, context: context)
        var headers = Self.headers(requestID: context.id, contentType: "application/json")
        if let retryAfter = error.retryAfterHeader { headers.add(name: "Retry-After", value: retryAfter) }
        return self.respond(status: status, headers: headers, bytes: body.serialized(), context: context)
    }

    private static func outcome(of error: ProxyError) -> UsageRecord.Outcome {
        switch error.code {
        case .cancelled: .clientDisconnected
        case .circuitOpen: .circuitOpen
        case .shuttingDown, .upstreamError, .allCandidatesFailed, .upstreamUnreachable, .upstreamTimeout, .upstreamConnectionFailed,
            .upstreamMalformed, .upstreamResponseTooLarge:
            .upstreamError
        default: .rejected
        }
    }

    /// Response headers: content type, request id, the route taken (`X-Sidecar-Route`), and the
    /// request's cost when it has one.
    static func headers(requestID: String, contentType: String, cost: Billing.Cost? = nil, route: RouteCandidate? = nil) -> HTTPHeaders {
        var headers: HTTPHeaders = ["Content-Type": contentType, "X-Request-Id": requestID]
        if let route { headers.add(name: "X-Sidecar-Route", value: route.headerValue) }
        if let cost {
            headers.add(name: "X-Sidecar-Cost", value: "\(cost.amount)")
            headers.add(name: "X-Sidecar-Currency", value: cost.currency)
        }
        return headers
    }
}
