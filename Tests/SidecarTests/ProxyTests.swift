//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import TestSupport
import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

/// The whole request path — server, routing, translation, billing, usage lines — against an
/// in-memory provider.
@Suite struct ProxyTests {
    static let configuration = """
        server:
          max_request_body: 4KiB
        providers:
          openai:
            dialect: openai
            base_url: https://upstream.test/v1
            api_key_env: OPENAI_KEY
          deepseek:
            dialect: deepseek
            base_url: https://deepseek.test
            api_key_env: DEEPSEEK_KEY
          keyless:
            dialect: openai
            base_url: https://keyless.test/v1
            api_key_env: NOT_SET
          demo:
            dialect: demo
            word_delay: 0ms
        models:
          gpt-4o:
            provider: openai
            upstream_model: gpt-4o-2024-08-06
            price: { input: 2.5, cached_input: 1.25, output: 10 }
          deepseek-chat:
            provider: deepseek
            price: { input: 2, cached_input: 0.5, output: 8, currency: CNY }
          unpriced:
            provider: openai
          stranded:
            provider: keyless
          demo:
            provider: demo
          "text-embedding-*":
            provider: openai
            price: { input: 0.02, output: 0 }
        passthrough:
          provider: openai
        resilience:
          retries: { backoff: 1ms, max_backoff: 5ms, max_wait: 1s }
        """

    static let providerKey = "sk-provider-SENTINEL-123"

    func withSidecar(_ body: @Sendable (ScriptedSidecar) async throws -> Void) async throws {
        try await ScriptedSidecar.run(yaml: Self.configuration, environment: ["OPENAI_KEY": Self.providerKey, "DEEPSEEK_KEY": "sk-deepseek"], body)
    }

    static let completion =
        #"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Hi!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":100,"total_tokens":1100,"prompt_tokens_details":{"cached_tokens":400}}}"#
    static let hello = #"{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}"#

    // MARK: Non-streaming

    @Test func completionIsForwardedWithTheProviderKeyAndBilled() async throws {
        try await self.withSidecar { sidecar in
            sidecar.upstream.enqueue(.json(status: 200, body: Self.completion))
            let answer = try await sidecar.post(
                "/v1/chat/completions",
                Self.hello,
                headers: [HTTPHeader("Authorization", "Bearer client-token"), HTTPHeader("X-Request-Id", "abc-1")]
            )
            #expect(answer.head.status == 200)
            #expect(answer.text == Self.completion, "an untranslated answer is passed through byte for byte")
            #expect(answer.head.header("x-request-id") == "abc-1")
            // 600 × 2.5 + 400 × 1.25 + 100 × 10 = 3000 per million.
            #expect(answer.head.header("x-sidecar-cost") == "0.003")
            #expect(answer.head.header("x-sidecar-currency") == "USD")

            let sent = try #require(sidecar.upstream.requests.first)
            #expect(sent.url == "https://upstream.test/v1/chat/completions")
            #expect(sent.headers.filter { $0.name.lowercased() == "authorization" } == [HTTPHeader("Authorization", "Bearer \(Self.providerKey)")])
            #expect(try sidecar.forwarded()["model"] == "gpt-4o-2024-08-06")

            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.requestID == "abc-1")
            #expect(record.outcome == .success)
            #expect(record.status == 200)
            #expect(record.model == "gpt-4o")
            #expect(record.provider == "openai")
            #expect(record.upstreamModel == "gpt-4o-2024-08-06")
            #expect(record.responseModel == "gpt-4o-2024-08-06")
            #expect(record.usage == Usage(inputTokens: 1000, outputTokens: 100, cachedInputTokens: 400))
            #expect(record.usageSource == .provider)
            #expect(record.cost?.description == "0.003")
            #expect(record.finishReasons == ["stop"])
            #expect(record.attempts == 1)
        }
    }

    @Test func serviceAPIAddsContentProviderAndSuccess() async throws {
        try await self.withSidecar { sidecar in
            sidecar.upstream.enqueue(.json(status: 200, body: Self.completion))
            let answer = try await sidecar.post(
                "/api/v1/chat/completions",
                #"{"model":"gpt-4o","task_type":"translation","messages":[{"role":"user","content":"Hello"}]}"#
            )
            #expect(answer.json["content"] == "Hi!")
            #expect(answer.json["provider"] == "openai")
            #expect(answer.json["success"] == true)
            #expect(answer.json["cost"] == 0.003)
            #expect(answer.json["choices"]?[0]?["message"]?["content"] == "Hi!")
            #expect(try sidecar.forwarded()["task_type"] == nil, "the sidecar's own field is not sent upstream")
            #expect(try await sidecar.usage.waitFor(count: 1).first?.taskType == "translation")
            #expect(try await sidecar.usage.waitFor(count: 1).first?.api == "service")
        }
    }

    @Test func missingProviderUsageIsEstimatedAndUnpricedModelsCostNull() async throws {
        try await self.withSidecar { sidecar in
            sidecar.upstream.enqueue(
                .json(
                    status: 200,
                    body:
                        #"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"abcdefgh"},"finish_reason":"stop"}]}"#
                )
            )
            let answer = try await sidecar.post("/v1/chat/completions", #"{"model":"unpriced","messages":[{"role":"user","content":"Hello"}]}"#)
            #expect(answer.head.status == 200)
            #expect(answer.head.header("x-sidecar-cost") == nil)
            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.usageSource == .estimated)
            #expect(record.usage == Usage(inputTokens: 3 + 3 + 2, outputTokens: 2))
            #expect(record.cost == nil)
            #expect(record.currency == nil)
        }
    }

    // MARK: Errors

    /// A `Retry-After` longer than `max_wait` (1 s here) is not waited out: the client gets the 429.
    @Test func rateLimitsPassThroughWithRetryAfter() async throws {
        try await self.withSidecar { sidecar in
            sidecar.upstream.enqueue(
                .json(
                    status: 429,
                    body: String(decoding: try Fixture.bytes("openai/error_429_rate_limit.json"), as: UTF8.self),
                    headers: [HTTPHeader("retry-after-ms", "1500")]
                )
            )
            let answer = try await sidecar.post("/v1/chat/completions", Self.hello)
            #expect(answer.head.status == 429)
            #expect(answer.head.header("retry-after") == "2")
            #expect(answer.json["error"]?["code"] == "rate_limit_exceeded")
            #expect(answer.json["error"]?["type"] == "tokens")
            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.outcome == .upstreamError)
            #expect(record.status == 429)
            #expect(record.errorType == "upstream_error")
            #expect(record.attempts == 1)
            #expect(sidecar.upstream.requests.count == 1)
        }
    }

    @Test func aShortRetryAfterIsWaitedOutAndRetried() async throws {
        try await self.withSidecar { sidecar in
            sidecar.upstream.enqueue(.json(status: 429, body: #"{"error":{"message":"slow down"}}"#, headers: [HTTPHeader("retry-after-ms", "30")]))
            sidecar.upstream.enqueue(.json(status: 200, body: Self.completion))
            let started = ContinuousClock.now
            let answer = try await sidecar.post("/v1/chat/completions", Self.hello)
            #expect(answer.head.status == 200)
            #expect(ContinuousClock.now - started >= .milliseconds(30), "the provider's Retry-After is honoured")
            #expect(sidecar.upstream.requests.count == 2)
            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.attempts == 2)
            #expect(record.routeDecisions.map(\.outcome) == [.failed, .served])
            #expect(record.routeDecisions.first?.reason == "upstream_error")
        }
    }

    @Test func theClientsOwnMistakesAreNotRetried() async throws {
        try await self.withSidecar { sidecar in
            let body = #"{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error","param":"temperature","code":null}}"#
            sidecar.upstream.enqueue(.json(status: 400, body: body))
            let answer = try await sidecar.post("/v1/chat/completions", Self.hello)
            #expect(answer.head.status == 400)
            #expect(answer.json["error"]?["param"] == "temperature")
            #expect(sidecar.upstream.requests.count == 1)
        }
    }

    @Test func aRejectedProviderKeyIsABadGatewayAndNeverEchoed() async throws {
        try await self.withSidecar { sidecar in
            let body =
                #"{"error":{"message":"Incorrect API key provided: \#(Self.providerKey).","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#
            sidecar.upstream.enqueue(.json(status: 401, body: body))
            let answer = try await sidecar.post("/v1/chat/completions", Self.hello)
            #expect(answer.head.status == 502)
            #expect(answer.json["error"]?["code"] == "upstream_authentication_failed")
            #expect(!answer.text.contains(Self.providerKey))
            #expect(answer.text.contains("[redacted]"))
        }
    }

    @Test func deepSeekInsufficientBalanceIsInsufficientQuota() async throws {
        try await self.withSidecar { sidecar in
            sidecar.upstream.enqueue(.json(status: 402, body: String(decoding: try Fixture.bytes("deepseek/error_402.json"), as: UTF8.self)))
            let answer = try await sidecar.post("/v1/chat/completions", #"{"model":"deepseek-chat","messages":[{"role":"user","content":"Hello"}]}"#)
            #expect(answer.head.status == 429)
            #expect(answer.json["error"]?["code"] == "insufficient_quota")
        }
    }

    /// Connection failures are retried up to `max_attempts` (3); the last error reaches the client.
    @Test func unreachableProvidersAnswer502AfterRetries() async throws {
        try await self.withSidecar { sidecar in
            for _ in 0..<3 {
                sidecar.upstream.enqueue(.fail(ProxyError(.upstreamUnreachable, "The provider could not be reached (connection refused).")))
            }
            let answer = try await sidecar.post("/v1/chat/completions", Self.hello)
            #expect(answer.head.status == 502)
            #expect(answer.json["error"]?["code"] == "upstream_unreachable")
            #expect(sidecar.upstream.requests.count == 3)
            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.outcome == .upstreamError)
            #expect(record.attempts == 3)
        }
    }

    @Test(arguments: [
        ("{not json", 400, "invalid_request", nil as String?),
        (#"{"model":"nope","messages":[{"role":"user","content":"x"}]}"#, 404, "model_not_found", "model"),
        (#"{"model":"stranded","messages":[{"role":"user","content":"x"}]}"#, 503, "provider_unavailable", nil),
        (#"{"model":"gpt-4o","messages":[]}"#, 400, "invalid_request", "messages"),
        (#"{"model":"gpt-4o","messages":[{"role":"user","content":"\#(String(repeating: "x", count: 5000))"}]}"#, 413, "request_too_large", nil),
    ])
    func badRequestsGetOpenAIErrorsAndAUsageLine(body: String, status: Int, code: String, param: String?) async throws {
        try await self.withSidecar { sidecar in
            let answer = try await sidecar.post("/v1/chat/completions", body)
            #expect(answer.head.status == status)
            #expect(answer.json["error"]?["code"]?.stringValue == code)
            #expect(answer.json["error"]?["param"] == .optional(param))
            #expect(answer.json["error"]?["message"]?.stringValue?.isEmpty == false)
            #expect(sidecar.upstream.requests.isEmpty)
            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.outcome == .rejected)
            #expect(record.errorType == code)
        }
    }

    @Test func unknownRoutesAnswerInTheOpenAIEnvelope() async throws {
        try await self.withSidecar { sidecar in
            let answer = try await send("GET", sidecar.base + "/nope")
            #expect(answer.head.status == 404)
            #expect(answer.json["error"]?["type"] == "invalid_request_error")
        }
    }

    @Test(arguments: ["/healthz", "/readyz"])
    func probesAnswerHEADLikeGETWithoutABody(path: String) async throws {
        try await self.withSidecar { sidecar in
            let get = try await send("GET", sidecar.base + path)
            let head = try await send("HEAD", sidecar.base + path)
            #expect(get.head.status == 200)
            #expect(head.head.status == get.head.status)
            #expect(head.head.header("Content-Type") == get.head.header("Content-Type"))
            #expect(head.head.header("Content-Length") == String(get.body.count))
            #expect(head.body.isEmpty)
        }
    }

    @Test func serviceAPIErrorsSaySuccessFalse() async throws {
        try await self.withSidecar { sidecar in
            let answer = try await sidecar.post("/api/v1/chat/completions", #"{"model":"nope","messages":[{"role":"user","content":"x"}]}"#)
            #expect(answer.head.status == 404)
            #expect(answer.json["success"] == false)
            #expect(answer.json["content"] == nil)
        }
    }

    // MARK: Streaming

    static func chunk(_ delta: String, finish: String? = nil, usage: String = "null") -> String {
        let finishReason = finish.map { "\"\($0)\"" } ?? "null"
        return
            #"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"deepseek-chat","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finishReason)}],"usage":\#(usage)}"#
            + "\n\n"
    }

    @Test func streamsAreRelayedWithUsageAndCost() async throws {
        try await self.withSidecar { sidecar in
            let usage = #"{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,"prompt_cache_hit_tokens":60,"prompt_cache_miss_tokens":40}"#
            sidecar.upstream.enqueue(
                .stream([
                    Self.chunk(#"{"role":"assistant","content":null,"reasoning_content":""}"#),
                    Self.chunk(#"{"reasoning_content":"Think."}"#),
                    Self.chunk(#"{"content":"Hello"}"#) + Self.chunk(#"{"content":" world"}"#),
                    Self.chunk(#"{"content":""}"#, finish: "stop", usage: usage),
                    "data: [DONE]\n\n",
                ])
            )
            let answer = try await sidecar.post(
                "/v1/chat/completions",
                #"{"model":"deepseek-chat","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hello"}]}"#
            )
            #expect(answer.head.status == 200)
            #expect(answer.head.header("content-type") == "text/event-stream; charset=utf-8")
            let stream = try ClientStream(bytes: answer.body)
            #expect(stream.content == "Hello world")
            #expect(stream.reasoning == "Think.")
            #expect(stream.endedWithDone)
            #expect(stream.chunks.last?["choices"] == [])
            #expect(stream.usage?["prompt_tokens"] == 100)
            #expect(stream.usage?["prompt_tokens_details"]?["cached_tokens"] == 60)
            // 40 × 2 + 60 × 0.5 + 20 × 8 = 270 per million, in CNY.
            #expect(stream.usage?["cost"] == 0.00027)
            #expect(stream.usage?["currency"] == "CNY")
            #expect(try sidecar.forwarded()["stream_options"]?["include_usage"] == true)
            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.stream)
            #expect(record.outcome == .success)
            #expect(record.usage == Usage(inputTokens: 100, outputTokens: 20, cachedInputTokens: 60))
            #expect(record.cost?.description == "0.00027")
            #expect(record.currency == "CNY")
            #expect(record.timeToFirstChunkMilliseconds != nil)
        }
    }

    @Test func midStreamProviderErrorsEndTheStreamWithAnErrorEvent() async throws {
        try await self.withSidecar { sidecar in
            sidecar.upstream.enqueue(
                .stream([
                    Self.chunk(#"{"role":"assistant","content":"Hel"}"#),
                    #"data: {"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"# + "\n\n",
                ])
            )
            let answer = try await sidecar.post(
                "/v1/chat/completions",
                #"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hello"}]}"#
            )
            let stream = try ClientStream(bytes: answer.body)
            #expect(stream.content == "Hel")
            #expect(stream.errors.first?["message"] == "The server had an error")
            #expect(!stream.endedWithDone)
            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.outcome == .streamError)
            #expect(record.usageSource == .estimated)
        }
    }

    @Test func truncatedStreamsEndWithAnErrorEvent() async throws {
        try await self.withSidecar { sidecar in
            sidecar.upstream.enqueue(.stream([Self.chunk(#"{"role":"assistant","content":"Hel"}"#)]))
            let answer = try await sidecar.post(
                "/v1/chat/completions",
                #"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hello"}]}"#
            )
            let stream = try ClientStream(bytes: answer.body)
            #expect(stream.errors.first?["code"] == "upstream_malformed_response")
            #expect(try await sidecar.usage.waitFor(count: 1).first?.outcome == .streamError)
        }
    }

    @Test func aClientLeavingMidStreamStopsTheProviderAndIsBilledOnce() async throws {
        try await self.withSidecar { sidecar in
            let ticks = Counter()
            sidecar.upstream.enqueue(.endless(ticks))
            let request = UpstreamRequest(
                method: "POST",
                url: sidecar.base + "/v1/chat/completions",
                headers: [],
                body: Array(#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hello"}]}"#.utf8),
                connectTimeout: .seconds(5),
                timeout: .seconds(30),
                proxy: nil
            )
            let response = try await testClient.execute(request, logger: testLogger)
            var received = 0
            while received < 3, let piece = try await response.body.next() {
                received += piece.split(separator: UInt8(ascii: "\n")).filter { $0.starts(with: "data:".utf8) }.count
            }
            response.body.cancel()
            let records = try await sidecar.usage.waitFor(count: 1)
            #expect(records.count == 1)
            let record = try #require(records.first)
            #expect(record.outcome == .clientDisconnected)
            #expect(record.usageSource == .estimated)
            #expect((record.usage?.outputTokens ?? 0) > 0)
            let ticksAtEnd = ticks.value
            try await Task.sleep(for: .milliseconds(100))
            #expect(ticks.value == ticksAtEnd, "the provider stream must stop when the client leaves")
            #expect(sidecar.usage.all.count == 1)
        }
    }

    // MARK: Demo, models, embeddings, passthrough

    @Test func theDemoModelStreamsOfflineThroughTheSamePipeline() async throws {
        try await self.withSidecar { sidecar in
            let answer = try await sidecar.post(
                "/v1/chat/completions",
                #"{"model":"demo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"ping"}]}"#
            )
            let stream = try ClientStream(bytes: answer.body)
            #expect(stream.content.hasSuffix("You said: ping"))
            #expect(stream.chunks.count > 5)
            #expect(stream.usage?["completion_tokens"]?.intValue == TextTally(stream.content).estimatedTokens)
            #expect(try await sidecar.usage.waitFor(count: 1).first?.provider == "demo")
        }
    }

    @Test func modelListsNeverRevealKeys() async throws {
        try await self.withSidecar { sidecar in
            let openAI = try await send("GET", sidecar.base + "/v1/models")
            #expect(
                openAI.json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["gpt-4o", "deepseek-chat", "unpriced", "stranded", "demo"]
            )
            #expect(openAI.json["data"]?[4]?["owned_by"] == "llm-sidecar-demo")
            let one = try await send("GET", sidecar.base + "/v1/models/text-embedding-3-small")
            #expect(one.json["id"] == "text-embedding-3-small")
            #expect(try await send("GET", sidecar.base + "/v1/models/nope").head.status == 404)
            let service = try await send("GET", sidecar.base + "/api/v1/models")
            let gpt = try #require(service.json["models"]?.arrayValue?.first)
            #expect(gpt["provider"] == "openai")
            #expect(gpt["price_per_1k_tokens"]?["input"] == 0.0025)
            #expect(gpt["price_per_1k_tokens"]?["output"] == 0.01)
            #expect(gpt["supports_streaming"] == true)
            #expect(service.json["models"]?[3]?["available"] == false)
            for body in [openAI.text, service.text] { #expect(!body.contains(Self.providerKey)) }
        }
    }

    @Test func embeddingsAreRoutedAndBilled() async throws {
        try await self.withSidecar { sidecar in
            sidecar.upstream.enqueue(.json(status: 200, body: String(decoding: try Fixture.bytes("openai/embeddings_response.json"), as: UTF8.self)))
            let answer = try await sidecar.post("/v1/embeddings", #"{"model":"text-embedding-3-small","input":"The food was delicious"}"#)
            #expect(answer.head.status == 200)
            #expect(sidecar.upstream.requests.first?.url == "https://upstream.test/v1/embeddings")
            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.operation == "embeddings")
            #expect(record.usage?.inputTokens == (try Fixture.json("openai/embeddings_response.json"))["usage"]?["prompt_tokens"]?.intValue)
        }
    }

    @Test func otherPathsPassThroughWithTheKey() async throws {
        try await self.withSidecar { sidecar in
            sidecar.upstream.enqueue(
                .json(
                    status: 200,
                    body: #"{"object":"chat.completion.deleted","id":"abc","deleted":true}"#,
                    headers: [HTTPHeader("Content-Type", "application/json")]
                )
            )
            let answer = try await send("DELETE", sidecar.base + "/v1/chat/completions/abc?x=1")
            #expect(answer.json["deleted"] == true)
            let sent = try #require(sidecar.upstream.requests.first)
            #expect(sent.method == "DELETE")
            #expect(sent.url == "https://upstream.test/v1/chat/completions/abc?x=1")
            #expect(sent.headers.contains(HTTPHeader("Authorization", "Bearer \(Self.providerKey)")))
            #expect(try await sidecar.usage.waitFor(count: 1).first?.operation == "passthrough")
        }
    }
}
