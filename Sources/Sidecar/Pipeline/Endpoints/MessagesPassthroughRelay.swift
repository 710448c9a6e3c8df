//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1
import SidecarModel
import Translate

/// Relays an Anthropic stream to a Messages client byte for byte, scrubbed of provider keys
/// (``SecretScrubber/Stream``). A ``TranslatingRelay`` reads the same bytes beside it — its output is
/// dropped — to enforce the size cap and to bill and summarize the answer like any other.
/// When the stream breaks, the provider's own `error` event has already been passed on; any
/// other failure (a cut-off or oversized stream) ends with an Anthropic `error` event.
struct MessagesPassthroughRelay: StreamRelay {
    private var observer: TranslatingRelay<OpenAIStreamEncoder>
    private var scrubbing: SecretScrubber.Stream
    /// Client bytes of the read whose translation failed, delivered by ``failure(_:)``.
    private var held: [UInt8] = []

    init(request: ChatRequest, route: RouteCandidate) {
        self.observer = TranslatingRelay(request: request, route: route, encoder: OpenAIStreamEncoder(includeUsage: request.includeUsage))
        self.scrubbing = SecretScrubber.Stream(route.provider.scrubber)
    }

    func headers(for upstream: UpstreamResponseHead) -> HTTPHeaders {
        ["Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"]
    }

    mutating func consume(_ bytes: [UInt8]) throws(ProxyError) -> [UInt8] {
        let output = self.scrubbing.feed(bytes)
        do {
            _ = try self.observer.consume(bytes)
        } catch {
            self.held = output
            throw error
        }
        return output
    }

    mutating func finish() throws(ProxyError) -> [UInt8] {
        let output = self.scrubbing.finish()
        do {
            _ = try self.observer.finish()
        } catch {
            self.held = output
            throw error
        }
        return output
    }

    func failure(_ error: ProxyError) -> [UInt8] {
        var scrubbing = self.scrubbing
        var output = self.held + scrubbing.finish()
        if error.upstreamFailure == nil { error.anthropicBody.appendEvent(to: &output) }
        return output
    }

    var billing: Billing? { self.observer.billing }

    func summarize(into context: inout RequestContext) {
        self.observer.summarize(into: &context)
    }
}
