//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

/// `server.max_streams`: a slot is reserved at admission and given back on every way a stream
/// ends — with `max_streams: 1`, a leaked slot would refuse the next stream.
@Suite struct StreamAdmissionTests {
    static let configuration = """
        server:
          max_streams: 1
          max_connections: 64
        providers:
          openai:
            dialect: openai
            base_url: https://upstream.test/v1
            api_key_env: OPENAI_KEY
        models:
          gpt-4o:
            provider: openai
        """
    static let stream = #"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hello"}]}"#

    static func chunk(_ content: String) -> String {
        #"data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"\#(content)"},"finish_reason":null}]}"#
            + "\n\n"
    }

    /// A stream request whose answer is read piece by piece (the caller cancels it to leave).
    static func open(_ sidecar: ScriptedSidecar) async throws -> UpstreamResponse {
        let request = UpstreamRequest(
            method: "POST",
            url: sidecar.base + "/v1/chat/completions",
            headers: [],
            body: Array(Self.stream.utf8),
            connectTimeout: .seconds(5),
            timeout: .seconds(30),
            proxy: nil
        )
        return try await testClient.execute(request, logger: testLogger)
    }

    @Test func everyWayAStreamEndsGivesItsSlotBack() async throws {
        try await ScriptedSidecar.run(yaml: Self.configuration, environment: ["OPENAI_KEY": "sk-test"]) { sidecar in
            // An error before the provider's headers.
            sidecar.upstream.enqueue(.json(status: 400, body: #"{"error":{"message":"bad","type":"invalid_request_error"}}"#))
            #expect(try await sidecar.post("/v1/chat/completions", Self.stream).head.status == 400)
            // An error in the middle of the stream.
            sidecar.upstream.enqueue(.stream([Self.chunk("Hel"), #"data: {"error":{"message":"boom","type":"server_error"}}"# + "\n\n"]))
            #expect(try await sidecar.post("/v1/chat/completions", Self.stream).text.contains("boom"))
            // The client leaving.
            sidecar.upstream.enqueue(.endless(Counter()))
            let leaving = try await Self.open(sidecar)
            _ = try await leaving.body.next()
            leaving.body.cancel()
            #expect(try await sidecar.usage.waitFor(count: 3).count == 3)
            // Success, after which a held stream refuses the next one.
            sidecar.upstream.enqueue(.stream([Self.chunk("Hi"), "data: [DONE]\n\n"]))
            #expect(try await sidecar.post("/v1/chat/completions", Self.stream).head.status == 200)
            sidecar.upstream.enqueue(.endless(Counter()))
            let held = try await Self.open(sidecar)
            _ = try await held.body.next()
            let refused = try await sidecar.post("/v1/chat/completions", Self.stream)
            #expect(refused.head.status == 503)
            #expect(refused.json["error"]?["code"] == "too_many_streams")
            #expect(refused.head.header("retry-after") == "1")
            held.body.cancel()
        }
    }

    @Test func theFlowLimitsAreReadAndMaxConnectionsMustCoverMaxStreams() throws {
        let base = "providers:\n  demo: { dialect: demo }\nmodels:\n  demo: { provider: demo }\n"
        let read = try SidecarConfiguration.parse(
            yaml: "server:\n  max_streams: 10\n  max_connections: 10\n  max_buffered_bytes: 2MiB\n" + base,
            file: "test.yaml",
            environment: [:]
        )
        #expect(read.server.maxConnections == 10)
        #expect(read.server.maxBufferedBytes == 2 << 20)
        let defaults = try SidecarConfiguration.parse(yaml: base, file: "test.yaml", environment: [:])
        #expect((defaults.server.maxStreams, defaults.server.maxConnections, defaults.server.maxBufferedBytes) == (2000, 4096, 40 << 20))
        #expect {
            try SidecarConfiguration.parse(yaml: "server:\n  max_streams: 10\n  max_connections: 5\n" + base, file: "test.yaml", environment: [:])
        } throws: { error in
            "\(error)".contains("max_connections (5) must be at least max_streams (10)")
        }
    }
}
