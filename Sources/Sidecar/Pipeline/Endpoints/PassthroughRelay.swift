//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1
import SidecarModel
import Translate

/// Relays a passthrough answer unchanged but for provider keys: the body is scrubbed of
/// configured keys as it streams (``SecretScrubber/Stream``), and so are the headers passed on
/// (`Content-Type`, `Retry-After`). Its use cannot be priced: no bill.
struct PassthroughRelay: StreamRelay {
    private var scrubbing: SecretScrubber.Stream

    init(scrubber: SecretScrubber) {
        self.scrubbing = SecretScrubber.Stream(scrubber)
    }

    func headers(for upstream: UpstreamResponseHead) -> HTTPHeaders {
        let scrubber = self.scrubbing.scrubber
        var headers: HTTPHeaders = ["Content-Type": scrubber.scrub(upstream.header("content-type") ?? "application/json")]
        if let retryAfter = upstream.header("retry-after") { headers.add(name: "Retry-After", value: scrubber.scrub(retryAfter)) }
        return headers
    }

    mutating func consume(_ bytes: [UInt8]) throws(ProxyError) -> [UInt8] {
        self.scrubbing.feed(bytes)
    }

    mutating func finish() throws(ProxyError) -> [UInt8] {
        self.scrubbing.finish()
    }

    /// Nothing: the provider's format has no error event the sidecar could add.
    func failure(_ error: ProxyError) -> [UInt8] { [] }

    var billing: Billing? { nil }

    func summarize(into context: inout RequestContext) {}
}
