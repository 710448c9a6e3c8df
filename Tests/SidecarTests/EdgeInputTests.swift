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

/// What a client controls at the edge — the path, model names, task types, header values — and
/// every place such a value is written: response headers, metric labels, JSON lines.
@Suite struct EdgeInputTests {
    @Test(arguments: [
        ("/v1/chat/completions", "/v1/chat/completions"),
        ("/v1/chat/completions/", "/v1/chat/completions"),
        ("/v1/./chat/completions", "/v1/chat/completions"),
        ("/v1//chat///completions", "/v1/chat/completions"),
        ("/v1/%2e/chat/completions", "/v1/chat/completions"),
        ("/v1/x/%2E%2E/chat/completions", "/v1/chat/completions"),
        ("/v1/x/.%2e/chat/completions", "/v1/chat/completions"),
        ("/v1/x/%2E./chat/completions", "/v1/chat/completions"),
        ("/v1/chat/%63ompletions", "/v1/chat/completions"),
        ("/v1/models/meta-llama%2fLlama-3", "/v1/models/meta-llama%2FLlama-3"),
        ("/v1/models/caf%C3%A9", "/v1/models/caf%C3%A9"),
        ("/v1/files/../models", "/v1/models"),
        ("/", "/"),
        ("/healthz/", "/healthz"),
    ])
    func pathsAreNormalisedOnce(raw: String, normal: String) throws {
        #expect(try RequestPath.normalized(raw, query: nil) == normal)
    }

    @Test(arguments: [
        "/v1/../../etc/passwd",
        "/../v1/chat/completions",
        "/v1/%2e%2e/%2e%2e/etc/passwd",
        "/v1/%2E./.%2e/etc/passwd",
        "/v1/..%2f..%2fetc/passwd",
        "/v1/..%5C..%5Cetc",
        "/v1\\..\\..\\etc",
        "/v1/chat%00/completions",
        "/v1/chat%0d%0aX-Injected:%20yes",
        "/v1/chat/completions%",
        "/v1/chat/completions%zz",
        "/v1/caf\u{E9}",
        "v1/chat/completions",
        "/v1/chat completions",
    ])
    func attackPathsAreRefusedWith400(raw: String) {
        do {
            let normal = try RequestPath.normalized(raw, query: nil)
            Issue.record("\(raw.debugDescription) was accepted as \(normal)")
        } catch {
            #expect(error.status == 400)
            #expect(error.code.name == "invalid_request")
        }
    }

    /// Spellings a provider may read as a metered endpoint: forwarded, they would generate
    /// tokens the quotas never see (found by the red-team review after the path fix).
    @Test(arguments: [
        "/v1/Chat/Completions", "/v1/chat%2Fcompletions", "/v1/chat/completions;x", "/v1/EMBEDDINGS", "/v1/files;jsessionid=1",
    ])
    func passthroughRefusesOtherSpellingsOfMeteredPaths(_ raw: String) throws {
        let path = try RequestPath.normalized(raw, query: nil)
        #expect(throws: ProxyError.self) { try PassthroughEndpoint.checkNotAnAlias(path) }
    }

    @Test(arguments: ["/v1/chat/completions", "/v1/chat/completions/chatcmpl-1/messages", "/v1/files/file-1/content", "/v1/batches"])
    func passthroughForwardsOtherPaths(_ path: String) throws {
        try PassthroughEndpoint.checkNotAnAlias(path)
    }

    @Test func overlongPathsAre414AndQueriesAreCheckedApart() throws {
        let long = "/v1/" + String(repeating: "a", count: RequestPath.maximumBytes)
        do {
            _ = try RequestPath.normalized(long, query: nil)
            Issue.record("an overlong path was accepted")
        } catch {
            #expect(error.status == 414)
        }
        #expect(try RequestPath.normalized("/v1/files", query: "purpose=../x&after=%2e%2e") == "/v1/files")
        #expect(throws: ProxyError.self) { try RequestPath.normalized("/v1/files", query: "a=b c") }
    }

    @Test(arguments: [
        "gpt-4o-mini", "ft:gpt-4o-mini:org::abc123", "meta-llama/Llama-3.1-8B-Instruct", "claude-3-5-sonnet@20240620",
        "anthropic.claude-3-5-sonnet-20240620-v1:0", "qwen2.5:7b", "auto:translation", "模型-中文", "f-é+~",
        String(repeating: "m", count: 256),
    ])
    func providersModelNamesAreAllowed(name: String) throws {
        #expect(try NamePolicy.model.checked(name) == name)
    }

    @Test(arguments: [
        "f-a\r\nX-Injected: yes", "f-a\nb", "f-a\rb", "f-\u{0}", "f-\u{7F}", "f-\u{85}", "f a", "f-\u{2028}", "f-\u{2029}",
        "f-\u{202E}", "f-\u{200B}", "f-\u{A0}", String(repeating: "m", count: 257), String(repeating: "é", count: 129),
    ])
    func unsafeModelNamesAre400NamingTheField(name: String) {
        do {
            try NamePolicy.model.checked(name)
            Issue.record("accepted \(name.debugDescription)")
        } catch {
            #expect(error.status == 400)
            #expect(error.param == "model")
            #expect(!error.message.contains(name))
        }
    }

    @Test func headerValuesAreEscapedBeforeTheyAreWritten() {
        let response = ServerResponse(
            status: .ok,
            headers: ["X-Sidecar-Route": "model=f-a\r\nX-Injected: yes\r\n\r\nHTTP/1.1 200 OK", "X-Plain": "a\tb é"],
            body: .bytes(.init())
        )
        #expect(response.headers.first(name: "X-Sidecar-Route") == "model=f-a%0D%0AX-Injected: yes%0D%0A%0D%0AHTTP/1.1 200 OK")
        #expect(response.headers.first(name: "X-Plain") == "a\tb é")
        #expect(!response.headers.contains(name: "X-Injected"))
    }

    @Test func metricLabelValuesAreEscapedPerTheExpositionFormat() {
        var family = MetricFamily("m_total", .counter, help: "h", labels: ["deployment"])
        family.add(1, ["p/f-a\r\nb\"c\\d\ne"])
        var text = ""
        family.render(into: &text)
        let series = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(series == [#"m_total{deployment="p/f-a\#r\nb\"c\\d\ne"} 1"#])
    }

    @Test func jsonLinesEscapeLineBreaksQuotesAndSeparators() throws {
        let invalidUTF8 = String(decoding: [0x66, 0xFF, 0xC3, 0x28], as: UTF8.self)
        for value in ["a\r\nb", "a\"b\\c", "a\u{2028}b\u{2029}c", "a\u{0}\u{1F}b", invalidUTF8] {
            var record = UsageRecord(requestID: "r", api: "openai", operation: "chat")
            record.requestedModel = value
            record.taskType = value
            let line = record.jsonLine()
            #expect(line.last == 0x0A)
            #expect(!line.dropLast().contains { $0 < 0x20 })
            #expect(!String(decoding: line, as: UTF8.self).dropLast().contains { $0 == "\u{2028}" || $0 == "\u{2029}" })
            let parsed = try JSONValue.parse(Array(line.dropLast()))
            #expect(parsed["gen_ai.request.model"] == .string(value))
        }
    }
}
