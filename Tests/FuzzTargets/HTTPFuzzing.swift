//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1

@testable import Sidecar
@testable import SidecarModel

/// The sidecar the `http` fuzz target talks to: the demo model, an OpenAI provider whose network
/// always fails (so routing, retries, the breaker and passthrough run without I/O), one client token.
enum HTTPFuzzing {
    /// The client's token; the seeds send it, so most inputs get past authentication.
    static let clientToken = "sk-fuzz-token"
    /// The provider key: no answer may contain it.
    static let providerKey = "sk-fuzz-provider-SENTINEL"

    static let yaml = """
        server:
          max_request_body: 64KiB
        providers:
          openai:
            dialect: openai
            base_url: https://upstream.invalid/v1
            api_key_env: FUZZ_KEY
          demo:
            dialect: demo
            word_delay: 0ms
        models:
          gpt-4o:
            provider: openai
            price: { input: 2.5, output: 10 }
          demo:
            provider: demo
          "f-*":
            provider: openai
        routes:
          default: { primary: [demo] }
        passthrough:
          provider: openai
        resilience:
          retries: { backoff: 1ms, max_backoff: 2ms, max_wait: 50ms }
        clients:
          fuzz:
            token_sha256: f847d01604df074826d70f09ca5a43990a3fabe98d20b6f72fff482182e22cdc
        """

    static let configuration = try! SidecarConfiguration.parse(yaml: Self.yaml, file: "fuzz.yaml", environment: ["FUZZ_KEY": Self.providerKey])

    static let router: SidecarRouter = {
        let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
        let store = RuntimeStore(RuntimeSnapshot(configuration: Self.configuration, network: UnreachableNetwork()))
        return SidecarRouter(services: Services(store: store, usage: DiscardingUsageSink(), logger: logger))
    }()

    /// A channel that was never connected: stream writes fail as for a client that left.
    static let goneClient = EmbeddedChannel()

    /// The complete requests in `input`, decoded as the server's HTTP/1.1 codec does; bodies over
    /// `max_request_body` are dropped and marked too large. Decoding stops at the first error.
    static func requests(in input: [UInt8]) -> [ServerRequest] {
        let limit = Self.configuration.server.maxRequestBodyBytes
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
        defer { _ = try? channel.finish() }
        _ = try? channel.writeInbound(ByteBuffer(bytes: input))
        var requests: [ServerRequest] = []
        var current: (head: HTTPRequestHead, body: ByteBuffer, tooLarge: Bool)?
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let head): current = (head, ByteBuffer(), false)
            case .body(var chunk):
                guard var request = current else { continue }
                if request.body.readableBytes + chunk.readableBytes > limit { request.tooLarge = true }
                if !request.tooLarge { request.body.writeBuffer(&chunk) }
                current = request
            case .end:
                guard let request = current else { continue }
                let refusal = request.tooLarge ? ProxyError(.requestTooLarge, "The request body exceeds the fuzz limit.") : nil
                requests.append(ServerRequest(head: request.head, body: request.tooLarge ? ByteBuffer() : request.body, bodyRefusal: refusal))
                current = nil
            }
        }
        return requests
    }

    /// Traps when an answer carries the provider's key.
    static func checkNoKeyLeaks(_ response: ServerResponse) {
        let headers = response.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
        precondition(!headers.contains(Self.providerKey), "provider key in a response header")
        if case .bytes(let buffer) = response.body {
            precondition(!String(buffer: buffer).contains(Self.providerKey), "provider key in a response body")
        }
    }
}

/// A network on which every provider request fails to connect.
private struct UnreachableNetwork: UpstreamClient {
    func execute(_ request: UpstreamRequest, logger: Logger) async throws(ProxyError) -> UpstreamResponse {
        throw ProxyError(.upstreamUnreachable, "fuzzing: no network")
    }
}

/// Usage records go nowhere (the statistics and metrics still count them).
private struct DiscardingUsageSink: UsageSink {
    func record(_ record: UsageRecord) {}
}
