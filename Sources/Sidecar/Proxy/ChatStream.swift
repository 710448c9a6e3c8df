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

/// Relays one provider event stream to the client as OpenAI server-sent events.
///
/// Everything per chunk happens in the response-writing task with value types — SSE parsing,
/// translation, encoding — and each network read is written (and flushed) as soon as it is
/// translated, so tokens reach the client as they arrive. The stream ends in one of four ways,
/// each recorded in the usage line: complete (usage chunk if asked, then `[DONE]`); a provider
/// error or broken stream (an OpenAI error event); or the client leaving (the upstream transfer
/// is cancelled so the provider stops generating).
struct ChatStream: Sendable {
    let context: ProxyContext
    let request: ChatRequest
    let route: RouteCandidate
    let answer: Dispatcher.Answer
    /// The `server.max_streams` slot reserved at admission; released when the relay ends.
    let slot: CapacityClaim
    let record: UsageRecord
    let clock: RequestClock

    private var exchange: UpstreamResponse { self.answer.response }

    func response() -> ServerResponse {
        var headers = ProxyContext.headers(requestID: self.record.requestID, contentType: "text/event-stream; charset=utf-8", route: self.route)
        headers.add(name: "Cache-Control", value: "no-cache")
        return ServerResponse(status: .ok, headers: headers, body: .stream { writer in await self.relay(to: writer) })
    }

    /// Why relaying stopped early.
    private enum Interruption: Error {
        case clientLeft
        case upstream(ProxyError)
    }

    private func relay(to writer: ResponseStreamWriter) async {
        var record = self.record
        var relay = Relay(request: self.request, route: self.route)
        do throws(Interruption) {
            if let first = self.answer.firstPiece {
                try relay.consume(first)
                try await self.flush(&relay, to: writer, record: &record)
            }
            while let bytes = try await self.read() {
                try relay.consume(bytes)
                try await self.flush(&relay, to: writer, record: &record)
            }
            try relay.finishUpstream()
            let billing = relay.billing()
            billing.apply(to: &record)
            relay.encoder.finish(usage: billing.usage, extraUsageFields: relay.usageExtras(billing), into: &relay.output)
            self.answer.lease.release(success: true)
            try await self.flush(&relay, to: writer, record: &record)
        } catch {
            await self.interrupted(by: error, relay: &relay, writer: writer, record: &record)
        }
        self.slot.release()
        relay.summarize(into: &record)
        record.latencyMilliseconds = self.clock.elapsedMilliseconds
        self.context.usage.record(record)
    }

    private func interrupted(
        by interruption: Interruption,
        relay: inout Relay,
        writer: ResponseStreamWriter,
        record: inout UsageRecord
    ) async {
        switch interruption {
        case .upstream(let error):
            // The outcome reaches the breaker now, when the body ended, not at its first byte.
            self.answer.lease.release(after: error)
            record.outcome = .streamError
            record.errorType = error.shortDescription
            relay.billing().apply(to: &record)
            self.exchange.body.cancel()
            OpenAIStreamEncoder.appendError(self.context.store.current.scrubber.scrub(error).openAIBody, to: &relay.output)
            try? await self.flush(&relay, to: writer, record: &record)
        case .clientLeft:
            self.answer.lease.release()
            self.exchange.body.cancel()
            record.outcome = .clientDisconnected
            relay.billing().apply(to: &record)
        }
    }

    private func read() async throws(Interruption) -> [UInt8]? {
        do {
            return try await self.exchange.body.next()
        } catch {
            // A cancelled read means the client disconnected and the server cancelled this task,
            // or the drain deadline at shutdown passed and the server cut the stream.
            if self.context.lifecycle.isCutOff { throw .upstream(ServerLifecycle.shuttingDown) }
            throw error.code == .cancelled || Task.isCancelled ? .clientLeft : .upstream(error)
        }
    }

    private func flush(_ relay: inout Relay, to writer: ResponseStreamWriter, record: inout UsageRecord) async throws(Interruption) {
        guard !relay.output.isEmpty else { return }
        do {
            // Whole events: a key the provider echoed sits inside one (see SecretScrubber).
            try await writer.write(self.route.provider.scrubber.scrub(relay.output, mode: .answer))
        } catch {
            throw .clientLeft
        }
        relay.output.removeAll(keepingCapacity: true)
        if record.timeToFirstChunkMilliseconds == nil { record.timeToFirstChunkMilliseconds = self.clock.elapsedMilliseconds }
    }

    /// The per-stream translation state, all value types, owned by the relaying task.
    private struct Relay {
        let request: ChatRequest
        let route: RouteCandidate
        var parser = SSEParser()
        var translator: any StreamTranslator
        var encoder: OpenAIStreamEncoder
        /// Client bytes waiting to be written.
        var output: [UInt8] = []
        /// Provider bytes read so far, capped at ``ChatProxy/maximumResponseBytes``.
        private var received = 0

        init(request: ChatRequest, route: RouteCandidate) {
            self.request = request
            self.route = route
            self.translator = route.provider.dialect.makeStreamTranslator(
                for: request,
                context: ResponseContext.fresh(model: route.upstreamModel)
            )
            self.encoder = OpenAIStreamEncoder(includeUsage: request.includeUsage)
        }

        mutating func consume(_ bytes: [UInt8]) throws(Interruption) {
            self.received += bytes.count
            guard self.received <= ChatProxy.maximumResponseBytes else {
                throw .upstream(ProxyError(.upstreamResponseTooLarge, "The provider's stream exceeded \(ChatProxy.maximumResponseBytes >> 20) MiB."))
            }
            let events: [SSEEvent]
            do {
                events = try self.parser.feed(bytes)
            } catch {
                throw .upstream(ProxyError(error))
            }
            for event in events { try self.translate(event) }
        }

        /// The provider's body ended: flush the parser and make sure the stream completed.
        mutating func finishUpstream() throws(Interruption) {
            for event in self.parser.finish() { try self.translate(event) }
            let items: [StreamItem]
            do {
                items = try self.translator.finish()
            } catch {
                throw .upstream(ProxyError(error))
            }
            try self.handle(items)
        }

        private mutating func translate(_ event: SSEEvent) throws(Interruption) {
            let items: [StreamItem]
            do {
                items = try self.translator.translate(event)
            } catch {
                throw .upstream(ProxyError(error))
            }
            try self.handle(items)
        }

        private mutating func handle(_ items: [StreamItem]) throws(Interruption) {
            for item in items {
                switch item {
                case .chunk(let chunk):
                    self.encoder.encode(chunk, into: &self.output)
                case .end:
                    self.encoder.markCompleted()
                case .failure(let failure):
                    throw .upstream(self.route.provider.proxyError(failure))
                }
            }
        }

        func billing() -> Billing {
            Billing(route: self.route, providerUsage: self.encoder.summary.usage) {
                self.encoder.summary.deliveredText.estimatedTokens
            } promptEstimate: {
                TokenEstimator.estimatePromptTokens(self.request)
            }
        }

        /// Extra fields of the streamed usage object: cost, and a flag when the numbers are estimates.
        func usageExtras(_ billing: Billing) -> JSONObject {
            var extras = billing.usageFields
            if billing.source == .estimated { extras["estimated"] = true }
            return extras
        }

        func summarize(into record: inout UsageRecord) {
            record.responseModel = self.encoder.summary.responseModel
            record.responseID = self.encoder.summary.responseID
            record.finishReasons = self.encoder.summary.finishReasons
        }
    }
}
