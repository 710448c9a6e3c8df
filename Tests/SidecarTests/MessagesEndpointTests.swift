//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1
import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

/// What the Messages endpoint adds to the pipeline: Anthropic's statuses and error shape, the
/// client headers it forwards, and client tokens in `x-api-key`.
@Suite struct MessagesEndpointTests {
    static func request(_ headers: [(String, String)]) -> ServerRequest {
        ServerRequest(head: HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/messages", headers: HTTPHeaders(headers)), body: ByteBuffer())
    }

    @Test(arguments: [
        (ProxyError.Code.tooManyStreams, 529), (.circuitOpen, 529), (.allCandidatesFailed, 529), (.bufferBudgetExhausted, 529),
        (.quotaExceeded, 429), (.invalidClientToken, 401), (.notAllowed, 403), (.modelNotFound, 404), (.requestTooLarge, 413),
        (.upstreamTimeout, 504), (.providerUnavailable, 503), (.invalidRequest, 400),
    ])
    func sidecarErrorsTakeAnthropicsStatuses(code: ProxyError.Code, status: Int) {
        let error = ProxyError(code, "message")
        #expect(error.anthropicStatus == status)
        #expect(error.anthropicBody.type == AnthropicErrorBody.type(forStatus: status))
    }

    @Test func aProvidersOverloadIs529AndItsRateLimit429() {
        let overloaded = ProxyError(
            upstream: UpstreamFailure(kind: .overloaded, upstreamStatus: 503, message: "busy"),
            provider: "p",
            retryAfter: nil
        )
        #expect(overloaded.anthropicStatus == 529 && overloaded.anthropicBody.type == "overloaded_error")
        let limited = ProxyError(upstream: UpstreamFailure(kind: .rateLimited, upstreamStatus: 429, message: "slow"), provider: "p", retryAfter: nil)
        #expect(limited.anthropicStatus == 429 && limited.anthropicBody.type == "rate_limit_error")
    }

    @Test func theMessageNamesTheFieldOnce() {
        #expect(
            ProxyError(.invalidRequest, "'max_tokens' is required.", param: "max_tokens").anthropicBody.message
                == "max_tokens: 'max_tokens' is required."
        )
        #expect(ProxyError(.invalidRequest, "model: unknown", param: "model").anthropicBody.message == "model: unknown")
        #expect(ProxyError(.invalidRequest, "no field").anthropicBody.message == "no field")
    }

    @Test func clientTokensAreReadFromBearerThenXAPIKey() {
        #expect(ClientIdentity.presentedToken(Self.request([("x-api-key", "  sk-a  ")])) == "sk-a")
        #expect(ClientIdentity.presentedToken(Self.request([("Authorization", "Bearer sk-b"), ("x-api-key", "sk-a")])) == "sk-b")
        #expect(ClientIdentity.presentedToken(Self.request([("x-api-key", "   ")])) == nil)
        #expect(ClientIdentity.presentedToken(Self.request([])) == nil)
    }

    @Test func saneAnthropicHeadersAreKept() throws {
        let headers = try AnthropicClientHeaders(
            Self.request([("anthropic-version", "2023-06-01"), ("anthropic-beta", " prompt-caching-2024-07-31 ,, token-efficient-tools-2025-02-19")])
        )
        #expect(headers.version == "2023-06-01")
        #expect(headers.betas == ["prompt-caching-2024-07-31", "token-efficient-tools-2025-02-19"])
        let lines = try AnthropicClientHeaders(Self.request([("anthropic-beta", "a-1"), ("anthropic-beta", "b-2,c-3")]))
        #expect(lines.betas == ["a-1", "b-2", "c-3"])
        let tooMany = (0..<9).map { ("anthropic-beta", "f\($0)a,f\($0)b") }
        #expect(throws: ProxyError.self) { try AnthropicClientHeaders(Self.request(tooMany)) }
    }

    @Test(arguments: [
        ("anthropic-version", "2023-6-01"), ("anthropic-version", "2023-06-01\r\nx: y"), ("anthropic-version", "abcd-ef-gh"),
        ("anthropic-beta", "a b"), ("anthropic-beta", "flag\u{0}"), ("anthropic-beta", String(repeating: "f", count: 65)),
        ("anthropic-beta", (0...16).map { "f\($0)" }.joined(separator: ",")), ("anthropic-beta", "é"),
    ])
    func insaneAnthropicHeadersAre400NamingThem(name: String, value: String) {
        let error = #expect(throws: ProxyError.self) { try AnthropicClientHeaders(Self.request([(name, value)])) }
        #expect(error?.param == name && error?.status == 400)
    }

    @Test func theClientsVersionAndBetasReachAnAnthropicProvider() throws {
        let dialect = AnthropicDialect(version: "2023-06-01", betas: ["configured-1"])
        let encoded = dialect.encodeMessages(
            ["model": "claude", "max_tokens": 5, "messages": []],
            target: UpstreamTarget(model: "claude-upstream"),
            version: "2024-01-01",
            betas: ["configured-1", "client-2"],
            streaming: true
        )
        let headers = Dictionary(encoded.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        #expect(headers["anthropic-version"] == "2024-01-01" && headers["anthropic-beta"] == "configured-1,client-2")
        #expect(headers["Accept"] == "text/event-stream" && encoded.path == "/v1/messages" && encoded.isStreaming)
        #expect(try JSONValue.parse(encoded.body)["model"] == "claude-upstream")
    }
}
