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
    /// Reads a whole answer within `server.max_buffered_bytes`, translates it with `decode`,
    /// settles what the request held and answers.
    func answerWhole(
        _ response: UpstreamResponse,
        decode: @Sendable ([UInt8], inout RequestContext) throws(ProxyError) -> [UInt8],
        route: RouteCandidate,
        context: inout RequestContext,
        holdings: inout RequestHoldings
    ) async throws(ProxyError) -> ServerResponse {
        let budget = self.services.bufferBudget(snapshot: context.snapshot)
        let declared = response.head.header("Content-Length").flatMap { Int($0) }
        let bytes = try await response.body.collect(upTo: Self.maximumResponseBytes, budget: budget, declaredLength: declared)
        let body = try decode(bytes, &context)
        holdings.release(.completed, billing: context.billing)
        let headers = Self.headers(requestID: context.id, contentType: "application/json", cost: context.billing?.cost, route: route)
        var answered = self.respond(status: .ok, headers: headers, bytes: body, context: context)
        answered.holding = budget.claim
        return answered
    }

    /// Relays `response` through `relay` from the response-writing task. The relay owns
    /// `holdings` from here: they are released when the stream ended, however it ended, and the
    /// usage line is written then.
    ///
    /// Every network read is translated and written (and flushed) at once, so tokens reach the
    /// client as they arrive. The stream ends in one of three ways, each recorded: complete; a
    /// provider error or broken stream (the relay's error event, a failure for the breaker); or
    /// the client leaving (the upstream transfer is cancelled so the provider stops generating).
    func relay(
        _ response: UpstreamResponse,
        first: [UInt8]?,
        through relay: any StreamRelay,
        route: RouteCandidate?,
        context: RequestContext,
        holdings: consuming RequestHoldings
    ) -> ServerResponse {
        var headers = relay.headers(for: response.head)
        headers.add(name: "X-Request-Id", value: context.id)
        if let route { headers.add(name: "X-Sidecar-Route", value: route.headerValue) }
        let holdings = holdings
        let started = RequestContext(relaying: context)
        return ServerResponse(
            status: HTTPResponseStatus(statusCode: context.status),
            headers: headers,
            body: .stream { writer in
                var context = started
                var relay = relay
                let ending = await self.pump(response, first: first, through: &relay, to: writer, context: &context)
                relay.summarize(into: &context)
                context.billing = relay.billing
                holdings.release(ending, billing: context.billing)
                self.services.usage.record(context.usageRecord())
            }
        )
    }

    /// Why relaying stopped early.
    private enum Interruption: Error {
        case clientLeft
        case upstream(ProxyError)
    }

    /// Moves the provider's body through `relay` to the client until it ended; returns how.
    private func pump(
        _ response: UpstreamResponse,
        first: [UInt8]?,
        through relay: inout some StreamRelay,
        to writer: ResponseStreamWriter,
        context: inout RequestContext
    ) async -> RequestHoldings.Ending {
        var upstreamEnded = false
        do throws(Interruption) {
            if let first { try await self.write(try Self.translate(first, with: &relay), to: writer, context: &context) }
            while let bytes = try await self.read(response.body) {
                try await self.write(try Self.translate(bytes, with: &relay), to: writer, context: &context)
            }
            let rest: [UInt8]
            do {
                rest = try relay.finish()
            } catch {
                throw .upstream(error)
            }
            upstreamEnded = true
            try await self.write(rest, to: writer, context: &context)
            return .completed
        } catch {
            response.body.cancel()
            switch error {
            case .clientLeft:
                context.outcome = .clientDisconnected
                context.errorType = ProxyError.Code.cancelled.name
                // The provider's answer was whole: a success for the breaker, though no one read its end.
                return upstreamEnded ? .completed : .abandoned
            case .upstream(let error):
                context.outcome = .streamError
                context.errorType = error.shortDescription
                try? await self.write(relay.failure(context.snapshot.scrubber.scrub(error)), to: writer, context: &context)
                return .failed(error)
            }
        }
    }

    private static func translate(_ bytes: [UInt8], with relay: inout some StreamRelay) throws(Interruption) -> [UInt8] {
        do {
            return try relay.consume(bytes)
        } catch {
            throw .upstream(error)
        }
    }

    private func read(_ body: UpstreamBody) async throws(Interruption) -> [UInt8]? {
        do {
            return try await body.next()
        } catch {
            // A cancelled read means the client disconnected and the server cancelled this task,
            // or the drain deadline at shutdown passed and the server cut the stream.
            if self.services.lifecycle.isCutOff { throw .upstream(ServerLifecycle.shuttingDown) }
            throw error.code == .cancelled || Task.isCancelled ? .clientLeft : .upstream(error)
        }
    }

    private func write(_ bytes: [UInt8], to writer: ResponseStreamWriter, context: inout RequestContext) async throws(Interruption) {
        guard !bytes.isEmpty else { return }
        do {
            try await writer.write(bytes)
        } catch {
            throw .clientLeft
        }
        if context.firstChunkMilliseconds == nil { context.firstChunkMilliseconds = context.clock.elapsedMilliseconds }
    }
}
