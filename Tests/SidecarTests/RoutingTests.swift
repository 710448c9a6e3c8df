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

/// Task-type routing, deployments, failover and breakers through the whole request path, against
/// in-memory providers told apart by their base URLs.
@Suite struct RoutingTests {
    static let configuration = """
        providers:
          alpha: { dialect: openai, base_url: https://alpha.test/v1, api_key_env: KEY }
          beta: { dialect: openai, base_url: https://beta.test/v1, api_key_env: KEY }
          gamma: { dialect: deepseek, base_url: https://gamma.test, api_key_env: KEY }
          keyless: { dialect: openai, base_url: https://keyless.test/v1, api_key_env: NOT_SET }
        models:
          chat:
            deployments:
              - { provider: alpha, upstream_model: chat-alpha }
              - { provider: beta, upstream_model: chat-beta, max_concurrency: 1 }
            fallbacks: [backup]
          backup:
            provider: gamma
            upstream_model: deepseek-chat
          coder:
            provider: alpha
          lonely:
            provider: keyless
        routes:
          code_generation: { primary: [coder, chat], fallback: [backup] }
          translation: { primary: [backup] }
          default: { primary: [chat] }
        resilience:
          retries: { max_attempts: 1, backoff: 1ms, max_backoff: 2ms }
          breaker: { consecutive_failures: 2, open_for: 300ms, half_open_probes: 1 }
        """

    static let completion =
        #"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}"#
    static let serverError = #"{"error":{"message":"boom","type":"server_error","param":null,"code":null}}"#

    func withSidecar(_ body: @Sendable (ScriptedSidecar) async throws -> Void) async throws {
        try await ScriptedSidecar.run(yaml: Self.configuration, environment: ["KEY": "sk-test"], body)
    }

    @Test(arguments: [
        (#""model":"auto","task_type":"code_generation""#, [HTTPHeader](), "code_generation", "coder"),
        (#""model":"auto:translation""#, [], "translation", "deepseek-chat"),
        (#""model":"auto""#, [HTTPHeader("X-Task-Type", "translation")], "translation", "deepseek-chat"),
        (#""model":"auto","task_type":"poetry""#, [], "default", "chat-alpha"),
        (#""model":"auto""#, [], "default", "chat-alpha"),
    ])
    func taskTypesRouteToTheirPrimary(fields: String, headers: [HTTPHeader], task: String, upstreamModel: String) async throws {
        try await self.withSidecar { sidecar in
            sidecar.answer(".test")
            let answer = try await sidecar.chat(#"{\#(fields),"messages":[{"role":"user","content":"Hello"}]}"#, headers: headers)
            #expect(answer.head.status == 200)
            #expect(try sidecar.upstreamModel(0) == upstreamModel)
            #expect(answer.head.header("x-sidecar-route")?.hasSuffix("role=primary") == true)
            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.taskType == task)
            #expect(record.routeRole == "primary")
            #expect(record.routeDecisions.last?.outcome == .served)
        }
    }

    @Test func aFailingPrimaryFallsOverToTheNextDeploymentAndModel() async throws {
        try await self.withSidecar { sidecar in
            sidecar.answer("alpha", status: 500)
            sidecar.answer("beta", status: 503)
            sidecar.answer("gamma")
            let answer = try await sidecar.chat(model: "chat")
            #expect(answer.head.status == 200)
            #expect(
                answer.head.header("x-sidecar-route")
                    == "model=backup; deployment=gamma/deepseek-chat; role=fallback; after=alpha/chat-alpha:upstream_error,beta/chat-beta:upstream_error"
            )
            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.model == "backup")
            #expect(record.provider == "gamma")
            #expect(record.attempts == 3)
            #expect(record.routeDecisions.map(\.deployment) == ["alpha/chat-alpha", "beta/chat-beta", "gamma/deepseek-chat"])
            let line = try JSONValue.parse(record.jsonLine())
            #expect(line["route_role"] == "fallback")
            #expect(line["route"]?[0]?["reason"] == "upstream_error")
        }
    }

    @Test func whenEveryCandidateFailsTheErrorNamesWhatWasTried() async throws {
        try await self.withSidecar { sidecar in
            sidecar.answer("alpha", status: 500)
            sidecar.answer("beta", status: 500)
            sidecar.upstream.enqueue(.fail(ProxyError(.upstreamTimeout, "The provider did not answer in time.")), url: "gamma")
            let answer = try await sidecar.chat(model: "chat")
            #expect(answer.head.status == 503)
            #expect(answer.json["error"]?["code"] == "all_candidates_failed")
            let message = try #require(answer.json["error"]?["message"]?.stringValue)
            #expect(message.contains("alpha/chat-alpha (upstream_error)"))
            #expect(message.contains("gamma/deepseek-chat (upstream_timeout)"))
            #expect(!message.contains("sk-test"))
        }
    }

    @Test func aModelWithoutAKeyAnswersProviderUnavailable() async throws {
        try await self.withSidecar { sidecar in
            let answer = try await sidecar.chat(model: "lonely")
            #expect(answer.head.status == 503)
            #expect(answer.json["error"]?["code"] == "provider_unavailable")
            #expect(answer.json["error"]?["message"]?.stringValue?.contains("NOT_SET") == true)
            #expect(sidecar.upstream.requests.isEmpty)
        }
    }

    /// Two consecutive failures open alpha's breaker (300 ms): requests skip it without a call,
    /// then one probe goes through and closes it again.
    @Test func anOpenBreakerSkipsTheDeploymentUntilItsProbeSucceeds() async throws {
        try await self.withSidecar { sidecar in
            for _ in 0..<2 {
                sidecar.answer("alpha", status: 500)
                sidecar.answer("beta")
                #expect(try await sidecar.chat(model: "chat").head.status == 200)
            }
            sidecar.answer("beta")
            let skipped = try await sidecar.chat(model: "chat")
            #expect(skipped.head.header("x-sidecar-route")?.contains("alpha/chat-alpha:breaker_open") == true)
            #expect(sidecar.upstream.requests(to: "alpha").count == 2, "an open breaker sends nothing")

            try await Task.sleep(for: .milliseconds(350))
            sidecar.answer("alpha")
            let probe = try await sidecar.chat(model: "chat")
            #expect(probe.head.header("x-sidecar-route") == "model=chat; deployment=alpha/chat-alpha; role=requested")
            sidecar.answer("alpha")
            #expect(try await sidecar.chat(model: "chat").head.header("x-sidecar-route")?.contains("alpha") == true)
            #expect(sidecar.upstream.requests(to: "alpha").count == 4)
        }
    }

    @Test func autoSkipsAPrimaryWhoseBreakerIsOpen() async throws {
        try await self.withSidecar { sidecar in
            for _ in 0..<2 {
                sidecar.answer("alpha", status: 500)
                #expect(try await sidecar.chat(model: "coder").head.status == 502)
            }
            sidecar.answer("alpha")
            let answer = try await sidecar.chat(#"{"model":"auto:code_generation","messages":[{"role":"user","content":"Hello"}]}"#)
            #expect(answer.head.status == 200)
            let record = try #require(try await sidecar.usage.waitFor(count: 3).last)
            #expect(record.model == "chat")
            #expect(record.routeRole == "primary")
            #expect(
                record.routeDecisions.first == RouteDecision(model: "coder", deployment: "alpha/coder", outcome: .skipped, reason: "breaker_open")
            )
        }
    }

    @Test func aFullDeploymentIsSkippedAtOnce() async throws {
        try await self.withSidecar { sidecar in
            // alpha fails, so the first (streaming) request takes beta's only slot and keeps it.
            sidecar.answer("alpha", status: 500)
            sidecar.upstream.enqueue(.endless(Counter()), url: "beta")
            let stream = UpstreamRequest(
                method: "POST",
                url: "http://127.0.0.1:\(sidecar.port)/v1/chat/completions",
                headers: [],
                body: Array(#"{"model":"chat","stream":true,"messages":[{"role":"user","content":"Hello"}]}"#.utf8),
                connectTimeout: .seconds(5),
                timeout: .seconds(30),
                proxy: nil
            )
            let held = try await testClient.execute(stream, logger: testLogger)
            _ = try await held.body.next()
            sidecar.answer("alpha", status: 500)
            sidecar.answer("gamma")
            let answer = try await sidecar.chat(model: "chat")
            #expect(answer.head.header("x-sidecar-route")?.contains("beta/chat-beta:busy") == true)
            #expect(sidecar.upstream.requests(to: "beta").count == 1)
            held.body.cancel()
        }
    }

    /// Health checks list each provider's models once per round; unhealthy answers count as
    /// failures, and an open breaker gets no checks until its cool-down.
    @Test func healthChecksFeedTheBreakers() async throws {
        let configuration = try SidecarConfiguration.parse(yaml: Self.configuration, file: "test.yaml", environment: ["KEY": "sk-test"])
        let upstream = ScriptedUpstream()
        let store = RuntimeStore(RuntimeSnapshot(configuration: configuration, network: upstream))
        let audit = LineRecorder()
        let checker = HealthChecker(store: store, logger: testLogger, audit: AuditLog(write: audit.write))
        for _ in 0..<2 {
            upstream.enqueue(.json(status: 503, body: Self.serverError), url: "alpha")
            upstream.enqueue(.json(status: 401, body: Self.serverError), url: "beta")
            upstream.enqueue(.json(status: 429, body: Self.serverError), url: "gamma")
            await checker.checkAll()
        }
        #expect(
            upstream.requests.map(\.url).sorted() == [
                "https://alpha.test/v1/models", "https://alpha.test/v1/models", "https://beta.test/v1/models", "https://beta.test/v1/models",
                "https://gamma.test/models", "https://gamma.test/models",
            ]
        )
        let registry = store.current.registry
        let states = Dictionary(uniqueKeysWithValues: registry.all.map { ($0.id, $0.breaker.state(at: .now)) })
        #expect(states["alpha/chat-alpha"] == .open)
        #expect(states["alpha/coder"] == .open)
        #expect(states["beta/chat-beta"] == .open)
        #expect(states["gamma/deepseek-chat"] == .closed, "a rate limit is not ill health")
        let changes = audit.objects.filter { $0["event"] == "breaker_changed" }.compactMap { $0["deployment"]?.stringValue }
        #expect(changes.sorted() == ["alpha/chat-alpha", "alpha/coder", "beta/chat-beta"])
        await checker.checkAll()
        #expect(upstream.requests.count == 7, "only gamma is checked while the others are open")
    }

    @Test(arguments: [
        ("financial_analysis", ["deepseek-reasoner", "qwen-max", "deepseek-chat", "qwen-plus"]),
        ("code_generation", ["deepseek-chat", "claude-sonnet-4", "qwen-plus"]),
        ("data_extraction", ["qwen-plus", "gpt-4o-mini", "deepseek-chat"]),
        ("translation", ["qwen-plus", "gemini-2.5-flash", "qwen-turbo"]),
        ("default", ["deepseek-chat", "qwen-plus", "gpt-4o-mini"]),
        ("sonnet_writing", ["deepseek-chat", "qwen-plus", "gpt-4o-mini"]),
    ])
    func theShippedRoutesTryTheirPrimariesThenFallbacks(task: String, models: [String]) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../sidecar.yaml")
        let configuration = try SidecarConfiguration.parse(yaml: try String(contentsOf: url, encoding: .utf8), file: "sidecar.yaml", environment: [:])
        let plan = try Router(snapshot: RuntimeSnapshot(configuration: configuration, network: ScriptedUpstream())).plan(
            model: "auto",
            taskType: task
        )
        #expect(plan.steps.map(\.model.name) == models)
        #expect(plan.steps.first?.role == .primary)
        #expect(plan.steps.last?.role == .fallback)
    }
}

extension ScriptedSidecar {
    fileprivate func chat(_ body: String, headers: [HTTPHeader] = []) async throws -> HTTPExchange {
        try await self.post("/v1/chat/completions", body, headers: headers)
    }

    fileprivate func chat(model: String, headers: [HTTPHeader] = []) async throws -> HTTPExchange {
        try await self.chat(#"{"model":"\#(model)","messages":[{"role":"user","content":"Hello"}]}"#, headers: headers)
    }

    /// Queues a completion (200) or a server error for requests to `host`.
    fileprivate func answer(_ host: String, status: Int = 200) {
        self.upstream.enqueue(.json(status: status, body: status == 200 ? RoutingTests.completion : RoutingTests.serverError), url: host)
    }

    /// The upstream model the request at `index` asked for.
    fileprivate func upstreamModel(_ index: Int) throws -> String? {
        try self.forwarded(index)["model"]?.stringValue
    }
}
