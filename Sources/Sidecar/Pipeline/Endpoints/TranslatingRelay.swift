//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1
import SidecarModel
import Translate

/// Translates one provider event stream into the client's streaming format, chunk by chunk, with
/// value types only: SSE parsing, the dialect's stream translator (provider events to OpenAI
/// chat chunks), and `Encoder` (chat chunks to the client's events: OpenAI chat chunks, whose
/// complete stream ends with the usage chunk when asked for and `[DONE]`, or Responses events).
/// A broken stream ends with the encoder's failure event.
struct TranslatingRelay<Encoder: ChatStreamEncoder>: StreamRelay {
    let request: ChatRequest
    let route: RouteCandidate
    private let contentType: String
    /// Called with the encoder once the stream completed (the Responses endpoint stores the response).
    private let completed: (@Sendable (Encoder) -> Void)?
    private var reader = ProviderEventReader()
    private var translator: any StreamTranslator
    private var encoder: Encoder
    /// Client bytes translated from the current read and not yet returned: what a failure later
    /// in the same read still delivers before its error event.
    private var pending: [UInt8] = []

    /// - Parameters:
    ///   - request: the request as the provider's dialect received it.
    ///   - encoder: writes the client's events.
    ///   - completed: called with the encoder once the stream completed.
    init(
        request: ChatRequest,
        route: RouteCandidate,
        encoder: Encoder,
        contentType: String = "text/event-stream; charset=utf-8",
        completed: (@Sendable (Encoder) -> Void)? = nil
    ) {
        self.request = request
        self.route = route
        self.translator = route.provider.dialect.makeStreamTranslator(for: request, context: ResponseContext.fresh(model: route.upstreamModel))
        self.encoder = encoder
        self.contentType = contentType
        self.completed = completed
    }

    func headers(for upstream: UpstreamResponseHead) -> HTTPHeaders {
        ["Content-Type": self.contentType, "Cache-Control": "no-cache"]
    }

    mutating func consume(_ bytes: [UInt8]) throws(ProxyError) -> [UInt8] {
        let events = try self.reader.feed(bytes)
        for event in events { try self.translate(event) }
        return self.takePending()
    }

    mutating func finish() throws(ProxyError) -> [UInt8] {
        for event in self.reader.finish() { try self.translate(event) }
        let items: [StreamItem]
        do {
            items = try self.translator.finish()
        } catch {
            throw ProxyError(error)
        }
        try self.handle(items)
        let billing = self.currentBilling
        var extras = billing.usageFields
        if billing.source == .estimated { extras["estimated"] = true }
        self.encoder.finish(usage: billing.usage, extraUsageFields: extras, into: &self.pending)
        self.completed?(self.encoder)
        return self.takePending()
    }

    /// What was translated before the failure, then the encoder's failure event.
    func failure(_ error: ProxyError) -> [UInt8] {
        var output = self.scrubbed(self.pending)
        self.encoder.appendFailure(error.openAIBody, to: &output)
        return output
    }

    var billing: Billing? { self.currentBilling }

    func summarize(into context: inout RequestContext) {
        context.answer = RequestContext.AnswerSummary(
            responseModel: self.encoder.summary.responseModel,
            responseID: self.encoder.summary.responseID,
            finishReasons: self.encoder.summary.finishReasons
        )
    }

    private var currentBilling: Billing {
        Billing(route: self.route, providerUsage: self.encoder.summary.usage) {
            self.encoder.summary.deliveredText.estimatedTokens
        } promptEstimate: {
            TokenEstimator.estimatePromptTokens(self.request)
        }
    }

    /// The pending bytes, scrubbed: whole events, since a key the provider echoed sits inside
    /// one (see ``SecretScrubber``).
    private mutating func takePending() -> [UInt8] {
        defer { self.pending.removeAll(keepingCapacity: true) }
        return self.scrubbed(self.pending)
    }

    private func scrubbed(_ output: [UInt8]) -> [UInt8] {
        output.isEmpty ? output : self.route.provider.scrubber.scrub(output, mode: .answer)
    }

    private mutating func translate(_ event: SSEEvent) throws(ProxyError) {
        let items: [StreamItem]
        do {
            items = try self.translator.translate(event)
        } catch {
            throw ProxyError(error)
        }
        try self.handle(items)
    }

    private mutating func handle(_ items: [StreamItem]) throws(ProxyError) {
        for item in items {
            switch item {
            case .chunk(let chunk):
                self.encoder.encode(chunk, into: &self.pending)
            case .end:
                self.encoder.markCompleted()
            case .failure(let failure):
                throw self.route.provider.proxyError(failure)
            }
        }
    }
}
