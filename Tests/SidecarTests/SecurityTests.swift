//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

/// Client tokens and permissions, key rotation and scrubbing, the audit chain, and the
/// configuration rules that keep keys off the network.
@Suite struct SecurityTests {
    static let billingToken = "sk-sidecar-billing-token"
    static let reportsToken = "sk-sidecar-reports-token"

    static let configuration = """
        providers:
          alpha:
            dialect: openai
            base_url: https://alpha.test/v1
            api_key_env: [KEY_ONE, KEY_TWO]
        models:
          open-model: { provider: alpha }
          secret-model: { provider: alpha }
        routes:
          translation: { primary: [open-model] }
          default: { primary: [secret-model] }
        clients:
          billing:
            token_sha256: \(SHA256.hex(billingToken.utf8))
          reports:
            token_sha256: \(SHA256.hex(reportsToken.utf8))
            models: [open-model]
            task_types: [translation]
        """

    static let completion =
        #"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#

    func withSidecar(_ body: @Sendable (ScriptedSidecar) async throws -> Void) async throws {
        try await ScriptedSidecar.run(
            yaml: Self.configuration,
            environment: ["KEY_ONE": "sk-one-0123456789abcdef", "KEY_TWO": "sk-two-0123456789abcdef"],
            body
        )
    }

    static func ask(_ model: String) -> String {
        #"{"model":"\#(model)","messages":[{"role":"user","content":"Hi"}]}"#
    }

    @Test(arguments: [
        (nil as String?, "open-model", 401, "invalid_api_key"),
        ("sk-wrong", "open-model", 401, "invalid_api_key"),
        (billingToken as String?, "secret-model", 200, nil as String?),
        (reportsToken, "open-model", 200, nil),
        (reportsToken, "secret-model", 403, "model_not_allowed"),
        (reportsToken, "auto:translation", 200, nil),
        (reportsToken, "auto", 403, "model_not_allowed"),
    ])
    func clientsAreAuthenticatedAndLimited(token: String?, model: String, status: Int, code: String?) async throws {
        try await self.withSidecar { sidecar in
            sidecar.upstream.enqueue(.json(status: 200, body: Self.completion))
            let headers = token.map { [HTTPHeader("Authorization", "Bearer \($0)")] } ?? []
            let answer = try await sidecar.post("/v1/chat/completions", Self.ask(model), headers: headers)
            #expect(answer.head.status == status)
            #expect(answer.json["error"]?["code"]?.stringValue == code)
            #expect(sidecar.upstream.requests.count == (status == 200 ? 1 : 0))
            let record = try #require(try await sidecar.usage.waitFor(count: 1).first)
            #expect(record.client == (status == 401 ? "default" : token == Self.billingToken ? "billing" : "reports"))
            #expect(!answer.text.contains(token ?? "no token"), "a token is never echoed")
        }
    }

    @Test func modelListsShowWhatAClientMayUse() async throws {
        try await self.withSidecar { sidecar in
            let reports = try await send("GET", sidecar.base + "/v1/models", headers: [HTTPHeader("Authorization", "Bearer \(Self.reportsToken)")])
            #expect(reports.json["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["open-model"])
            #expect(try await send("GET", sidecar.base + "/v1/models").head.status == 401)
            #expect(try await send("GET", sidecar.base + "/api/v1/usage/stats").head.status == 401)
            #expect(try await send("GET", sidecar.base + "/healthz").head.status == 200, "probes need no token")
        }
    }

    @Test func severalKeysAreUsedInTurn() async throws {
        try await self.withSidecar { sidecar in
            for _ in 0..<4 { sidecar.upstream.enqueue(.json(status: 200, body: Self.completion)) }
            for _ in 0..<4 {
                _ = try await sidecar.post(
                    "/v1/chat/completions",
                    Self.ask("open-model"),
                    headers: [HTTPHeader("Authorization", "Bearer \(Self.billingToken)")]
                )
            }
            let keys = sidecar.upstream.requests.compactMap { request in request.headers.first { $0.name == "Authorization" }?.value }
            #expect(
                keys == [
                    "Bearer sk-one-0123456789abcdef", "Bearer sk-two-0123456789abcdef", "Bearer sk-one-0123456789abcdef",
                    "Bearer sk-two-0123456789abcdef",
                ]
            )
        }
    }

    @Test func keysStayOffTheNetworkAndListenersNeedTokens() {
        let insecure = """
            listen: 0.0.0.0:8080
            providers:
              remote: { dialect: openai, base_url: http://gateway.internal/v1, api_key_env: KEY }
              trusted: { dialect: openai, base_url: http://vllm.internal/v1, api_key_env: KEY, allow_http: true }
              local: { dialect: openai, base_url: http://127.0.0.1:8000/v1, api_key_env: KEY }
            models:
              m: { provider: remote }
            clients:
              broken: { token_sha256: abc }
            quotas:
              clients: { stranger: { requests_per_minute: 1 } }
            """
        let problems: [String]
        do {
            _ = try SidecarConfiguration.parse(yaml: insecure, file: "test.yaml", environment: ["KEY": "k"])
            problems = []
        } catch let error as ConfigurationError {
            problems = error.problems.map(\.description)
        } catch {
            problems = ["\(error)"]
        }
        #expect(problems.contains { $0.hasPrefix("test.yaml:3: providers.remote.base_url: would send the key in clear text") })
        #expect(!problems.contains { $0.contains("providers.trusted") || $0.contains("providers.local") })
        #expect(problems.contains { $0.hasPrefix("test.yaml:9: clients.broken.token_sha256: must be 64 hexadecimal digits") })
        #expect(problems.contains { $0.hasPrefix("test.yaml: quotas.clients.stranger: no client named 'stranger'") })
        let open = SidecarConfiguration.parse(yaml: "listen: 0.0.0.0:8080\nmodels:\n  d: { provider: demo }\nproviders:\n  demo: { dialect: demo }\n")
        #expect(open?.contains("configure client tokens") == true)
    }

    @Test func newTokensAreRandomAndUrlSafe() {
        let tokens = Set((0..<50).map { _ in TokenCommand.New.newToken() })
        #expect(tokens.count == 50)
        #expect(
            tokens.allSatisfy {
                $0.hasPrefix("sk-sidecar-") && $0.count == 11 + 43 && $0.allSatisfy { $0.isLetter || $0.isNumber || "-_".contains($0) }
            }
        )
    }
}

extension SidecarConfiguration {
    /// The problems of `yaml` joined, `nil` when it is valid.
    fileprivate static func parse(yaml: String) -> String? {
        do {
            _ = try Self.parse(yaml: yaml, file: "test.yaml", environment: [:])
            return nil
        } catch let error as ConfigurationError {
            return error.problems.map(\.description).joined(separator: "\n")
        } catch {
            return "\(error)"
        }
    }
}

/// The audit hash chain: written, continued, and checked by `audit verify`.
@Suite struct AuditTests {
    func chain(_ events: Int) -> [[UInt8]] {
        let recorder = LineRecorder()
        let audit = AuditLog(write: recorder.write)
        for index in 0..<events { audit.record("test_event", ["index": .number(JSONNumber(index))]) }
        return recorder.lines.map { Array($0.dropLast()) }
    }

    func verify(_ lines: [[UInt8]]) -> Result<AuditVerifier.Summary, AuditVerifier.Break> {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = FileManager.default.createFile(atPath: path, contents: Data(lines.flatMap { $0 + [UInt8(ascii: "\n")] }))
        return Result { () throws(AuditVerifier.Break) in try AuditVerifier.verify(file: path) }
    }

    @Test func anIntactChainInAMixedStreamVerifies() throws {
        var lines = self.chain(5)
        lines.insert(Array(#"{"timestamp":"x","kind":"usage","model":"m"}"#.utf8), at: 3)
        lines.insert(Array("plain log text".utf8), at: 1)
        #expect(try self.verify(lines).get() == AuditVerifier.Summary(auditLines: 6, chains: 1))
    }

    @Test func anEditedLineIsNamed() {
        var lines = self.chain(5)
        lines[2] = Array(String(decoding: lines[2], as: UTF8.self).replacing(#""index":1"#, with: #""index":7"#).utf8)
        #expect(self.verify(lines).failure?.reason.contains("line 3 was edited") == true)
        #expect(self.verify(lines).failure?.line == 4)
    }

    @Test func aDeletedLineIsFoundWhereItWas() {
        var lines = self.chain(5)
        lines.remove(at: 3)
        #expect(self.verify(lines).failure?.line == 4)
        #expect(self.verify(lines).failure?.reason.contains("missing or out of order") == true)
    }

    @Test func swappedLinesAreFoundAtTheFirstOfThem() {
        var lines = self.chain(5)
        lines.swapAt(2, 3)
        #expect(self.verify(lines).failure?.line == 3)
    }

    @Test func aRestartedProcessContinuesTheChain() throws {
        let first = self.chain(2)
        let recorder = LineRecorder()
        let audit = AuditLog(continuing: first.last, write: recorder.write)
        audit.record("after_restart")
        let lines = first + recorder.lines.map { Array($0.dropLast()) }
        #expect(try self.verify(lines).get() == AuditVerifier.Summary(auditLines: 5, chains: 1))
        #expect(recorder.objects.first?["continues"] == true)
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
