//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1
import SidecarModel
import Translate

/// Relays a translated provider stream as Anthropic Messages events: the provider's stream
/// goes through a ``TranslatingRelay`` (the dialect's translator, size cap, billing, key scrubbing),
/// whose OpenAI events are re-read and written as Messages events by a
/// ``MessagesStreamEncoder``. A complete stream ends with `message_delta` (stop reason and the
/// billed usage) and `message_stop`; a broken one with an Anthropic `error` event.
struct MessagesRelay: StreamRelay {
    private var chat: TranslatingRelay<OpenAIStreamEncoder>
    private var parser = SSEParser()
    private var encoder: MessagesStreamEncoder

    /// - Parameter request: the translated request; it asks for the usage chunk, which carries
    ///   the usage `message_delta` reports.
    init(request: ChatRequest, route: RouteCandidate) {
        self.chat = TranslatingRelay(request: request, route: route, encoder: OpenAIStreamEncoder(includeUsage: request.includeUsage))
        self.encoder = MessagesStreamEncoder(model: route.upstreamModel, id: MessagesEndpoint.messageID())
    }

    func headers(for upstream: UpstreamResponseHead) -> HTTPHeaders {
        ["Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"]
    }

    mutating func consume(_ bytes: [UInt8]) throws(ProxyError) -> [UInt8] {
        self.translate(try self.chat.consume(bytes))
    }

    mutating func finish() throws(ProxyError) -> [UInt8] {
        self.translate(try self.chat.finish())
    }

    /// What was translated before the failure, then an Anthropic `error` event.
    func failure(_ error: ProxyError) -> [UInt8] {
        var copy = self
        var output = copy.translate(self.chat.failure(error))
        error.anthropicBody.appendEvent(to: &output)
        return output
    }

    var billing: Billing? { self.chat.billing }

    func summarize(into context: inout RequestContext) {
        self.chat.summarize(into: &context)
    }

    /// The Messages events for a piece of the OpenAI stream; `[DONE]` closes the message with
    /// the billed usage. The OpenAI error event of a failure is left out.
    private mutating func translate(_ openAI: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        guard !openAI.isEmpty, let events = try? self.parser.feed(openAI) else { return output }
        for event in events {
            if event.isDoneMarker {
                self.encoder.finish(usage: self.chat.billing?.usage, into: &output)
            } else if let chunk = (try? JSONValue.parse(event.data))?.objectValue, chunk["error"] == nil {
                self.encoder.encode(chunk, into: &output)
            }
        }
        return output
    }
}
