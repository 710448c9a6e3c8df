//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import Synchronization
import Translate

@testable import Sidecar
@testable import SidecarModel

/// An in-memory provider: answers with scripted replies (first in, first out; a reply may be
/// meant only for URLs containing a string) and records every request it receives.
final class ScriptedUpstream: UpstreamClient {
    enum Reply: Sendable {
        case json(status: Int, body: String, headers: [HTTPHeader] = [])
        case stream([String], delay: Duration = .zero)
        /// Streams `data: tick` events until the consumer cancels.
        case endless(Counter)
        case fail(ProxyError)
    }

    private let replies = Mutex<[(reply: Reply, url: String?)]>([])
    private let received = Mutex<[UpstreamRequest]>([])

    /// Queues `reply`, for any request or only for one whose URL contains `url`.
    func enqueue(_ reply: Reply, url: String? = nil) {
        self.replies.withLock { $0.append((reply, url)) }
    }

    var requests: [UpstreamRequest] { self.received.withLock { $0 } }

    /// The requests sent to URLs containing `url`.
    func requests(to url: String) -> [UpstreamRequest] {
        self.requests.filter { $0.url.contains(url) }
    }

    func execute(_ request: UpstreamRequest, logger: Logger) async throws(ProxyError) -> UpstreamResponse {
        self.received.withLock { $0.append(request) }
        let reply = self.replies.withLock { replies in
            replies.firstIndex { $0.url.map(request.url.contains) ?? true }.map { replies.remove(at: $0).reply }
        }
        switch reply {
        case .json(let status, let body, let headers)?:
            return UpstreamResponse(
                head: UpstreamResponseHead(status: status, headers: headers),
                body: UpstreamBody(PreparedBody(pieces: [Array(body.utf8)]))
            )
        case .stream(let events, let delay)?:
            let pieces = events.map { Array($0.utf8) }
            return UpstreamResponse(
                head: UpstreamResponseHead(status: 200, headers: []),
                body: UpstreamBody(PreparedBody(pieces: pieces, delay: delay))
            )
        case .endless(let ticks)?:
            return UpstreamResponse(head: UpstreamResponseHead(status: 200, headers: []), body: UpstreamBody(EndlessBody(ticks: ticks)))
        case .fail(let error)?:
            throw error
        case nil:
            throw ProxyError(.internal, "no scripted reply left")
        }
    }
}

/// A sidecar serving a configuration on a free loopback port, with a ``ScriptedUpstream`` as
/// every network provider and usage lines recorded in memory.
struct ScriptedSidecar: Sendable {
    let port: Int
    let upstream: ScriptedUpstream
    let usage: RecordingUsageSink

    var base: String { "http://127.0.0.1:\(self.port)" }

    static func run(yaml: String, environment: [String: String], _ body: @Sendable (ScriptedSidecar) async throws -> Void) async throws {
        let configuration = try SidecarConfiguration.parse(yaml: yaml, file: "test.yaml", environment: environment)
        let upstream = ScriptedUpstream()
        let usage = RecordingUsageSink()
        let store = RuntimeStore(RuntimeSnapshot(configuration: configuration, network: upstream))
        let router = SidecarRouter(services: Services(store: store, usage: usage, logger: testLogger))
        try await withServer(maximumBodyBytes: configuration.server.maxRequestBodyBytes, router.respond(to:)) { port in
            try await body(ScriptedSidecar(port: port, upstream: upstream, usage: usage))
        }
    }

    func post(_ path: String, _ body: String, headers: [HTTPHeader] = []) async throws -> HTTPExchange {
        try await send("POST", self.base + path, body: body, headers: [HTTPHeader("Content-Type", "application/json")] + headers)
    }

    /// The request the provider received, as JSON.
    func forwarded(_ index: Int = 0) throws -> JSONValue {
        try JSONValue.parse(self.upstream.requests[index].body)
    }
}

/// A body that yields a chunk every 5 ms until cancelled, counting the chunks it produced.
private final class EndlessBody: UpstreamBodySource {
    private let ticks: Counter
    private let cancelled = Mutex(false)

    init(ticks: Counter) {
        self.ticks = ticks
    }

    func next() async throws(ProxyError) -> [UInt8]? {
        if self.cancelled.withLock({ $0 }) { throw ProxyError(.cancelled, "cancelled") }
        try? await Task.sleep(for: .milliseconds(5))
        let count = self.ticks.increment()
        let chunk = #"{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"tick\#(count) "},"finish_reason":null}]}"#
        return Array("data: \(chunk)\n\n".utf8)
    }

    func cancel() {
        self.cancelled.withLock { $0 = true }
    }
}

/// A thread-safe counter.
final class Counter: Sendable {
    private let count = Mutex(0)

    var value: Int { self.count.withLock { $0 } }

    @discardableResult
    func increment() -> Int {
        self.count.withLock { count in
            count += 1
            return count
        }
    }
}
