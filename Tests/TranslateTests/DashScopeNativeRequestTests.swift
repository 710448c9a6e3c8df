//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// OpenAI requests → native DashScope text-generation bodies.
@Suite struct DashScopeNativeRequestTests {
    let dashScope = DashScopeNativeDialect()
    let target = UpstreamTarget(model: "qwen-plus")

    func body(_ json: String) throws -> JSONValue {
        try JSONValue.parse(try self.dashScope.encodeRequest(try chatRequest(json), target: self.target).body)
    }

    func failure(_ json: String) throws -> TranslationError? {
        let request = try chatRequest(json)
        return #expect(throws: TranslationError.self) { try self.dashScope.encodeRequest(request, target: self.target) }
    }

    @Test func recordedRequestIsReproducedWithDashScopesOwnFieldsPassedThrough() throws {
        let request = try chatRequest(
            #"{"model":"qwen-thinking","messages":[{"role":"user","content":"What is 123 to the power of 21?"}],"#
                + #""enable_thinking":true,"enable_code_interpreter":true}"#
        )
        let encoded = try self.dashScope.encodeRequest(request, target: UpstreamTarget(model: "qwen3-max-2026-01-23"))
        #expect(try JSONValue.parse(encoded.body) == (try Fixture.json("dashscope/native_request.json")))
        #expect(encoded.path == "/api/v1/services/aigc/text-generation/generation")
        #expect(encoded.method == "POST")
        #expect(!encoded.isStreaming)
        #expect(!encoded.headers.contains { $0.name == "X-DashScope-SSE" })
    }

    @Test func streamsAskForIncrementalServerSentEvents() throws {
        let request = try chatRequest(#"{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}"#)
        let encoded = try self.dashScope.encodeRequest(request, target: self.target)
        #expect(encoded.isStreaming)
        #expect(encoded.headers.contains(HTTPHeader("X-DashScope-SSE", "enable")))
        #expect(encoded.headers.contains(HTTPHeader("Accept", "text/event-stream")))
        #expect(try JSONValue.parse(encoded.body)["parameters"] == ["result_format": "message", "incremental_output": true])
    }

    @Test func keyIsABearerToken() {
        #expect(self.dashScope.authenticationHeaders(apiKey: "sk-1") == [HTTPHeader("Authorization", "Bearer sk-1")])
    }

    @Test func messagesKeepOpenAIsLayout() throws {
        let body = try self.body(
            #"{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"developer","content":"Use metric units."},"#
                + #"{"role":"user","content":[{"type":"text","text":"Weather"},{"type":"text","text":"in Rome?"}],"name":"ann"},"#
                + #"{"role":"assistant","content":null,"reasoning_content":"I should call weather.","tool_calls":[{"id":"call_1","type":"function","#
                + #""function":{"name":"weather","arguments":"{\"city\":\"Rome\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"21 C"},"#
                + #"{"role":"assistant","content":"21 C in Rome."}]}"#
        )
        #expect(
            body["input"] == [
                "messages": [
                    ["role": "system", "content": "Be brief."],
                    ["role": "system", "content": "Use metric units."],
                    ["role": "user", "content": "Weather\nin Rome?"],
                    [
                        "role": "assistant", "content": "",
                        "tool_calls": [["id": "call_1", "type": "function", "function": ["name": "weather", "arguments": #"{"city":"Rome"}"#]]],
                    ],
                    ["role": "tool", "content": "21 C", "tool_call_id": "call_1"],
                    ["role": "assistant", "content": "21 C in Rome."],
                ]
            ]
        )
        #expect(body["model"] == "qwen-plus")
    }

    @Test(arguments: [
        (#"[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://e.com/a.png"}}]"#, "messages[0].content[1]"),
        (#"[{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]"#, "messages[0].content[0]"),
    ])
    func mediaIsRefusedNamingThePart(content: String, param: String) throws {
        let error = try self.failure(#"{"model":"m","messages":[{"role":"user","content":\#(content)}]}"#)
        #expect(error?.param == param)
        #expect(error?.code == .unsupportedFeature)
    }

    @Test func legacyFunctionRoleAndBuiltInToolsAreRefused() throws {
        let function = try self.failure(#"{"model":"m","messages":[{"role":"function","name":"f","content":"1"}]}"#)
        #expect(function?.param == "messages[0].role")
        #expect(function?.code == .unsupportedFeature)
        let builtIn = try self.failure(#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"file_search"}]}"#)
        #expect(builtIn?.param == "tools[0]")
    }

    @Test func optionsBecomeParameters() throws {
        let body = try self.body(
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":256,"temperature":0.70,"top_p":0.8,"seed":42,"#
                + #""stop":"END","n":2,"presence_penalty":0.3,"frequency_penalty":0.5,"user":"u-1","top_k":20,"repetition_penalty":1.05,"#
                + #""enable_search":true,"search_options":{"forced_search":true},"response_format":{"type":"json_object"},"#
                + #""tools":[{"type":"function","function":{"name":"weather","description":"Weather","strict":true,"#
                + #""parameters":{"type":"object","properties":{"city":{"type":"string"}},"additionalProperties":false}}}],"#
                + #""tool_choice":{"type":"function","function":{"name":"weather"}},"parallel_tool_calls":true}"#
        )
        #expect(
            body["parameters"] == [
                "result_format": "message", "max_tokens": 256, "temperature": 0.7, "top_p": 0.8, "seed": 42, "stop": ["END"], "n": 2,
                "presence_penalty": 0.3, "top_k": 20, "repetition_penalty": 1.05, "enable_search": true, "search_options": ["forced_search": true],
                "response_format": ["type": "json_object"],
                "tools": [
                    [
                        "type": "function",
                        "function": [
                            "name": "weather", "description": "Weather",
                            "parameters": ["type": "object", "properties": ["city": ["type": "string"]], "additionalProperties": false],
                        ],
                    ]
                ],
                "tool_choice": ["type": "function", "function": ["name": "weather"]],
                "parallel_tool_calls": true,
            ]
        )
        #expect(body["parameters"]?.jsonString.contains(#""temperature":0.70"#) == true, "the client's number literal is kept")
    }

    static let efforts: [(String, JSONValue)] = [
        ("none", ["enable_thinking": false]), ("minimal", ["enable_thinking": true, "thinking_budget": 128]),
        ("low", ["enable_thinking": true, "thinking_budget": 1024]), ("medium", ["enable_thinking": true, "thinking_budget": 8192]),
        ("high", ["enable_thinking": true]),
    ]

    @Test(arguments: Self.efforts)
    func reasoningEffortTurnsThinkingOnWithABudget(effort: String, expected: JSONValue) throws {
        var parameters = try #require(
            try self.body(#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"\#(effort)"}"#)["parameters"]
        )
        parameters["result_format"] = nil
        #expect(parameters == expected)
    }

    @Test func dashScopesOwnThinkingFieldsWinOverReasoningEffort() throws {
        let body = try self.body(
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low","enable_thinking":false,"thinking_budget":50}"#
        )
        #expect(body["parameters"] == ["result_format": "message", "enable_thinking": false, "thinking_budget": 50])
    }

    @Test func unknownReasoningEffortIsRefused() throws {
        let error = try self.failure(#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"extreme"}"#)
        #expect(error?.param == "reasoning_effort")
        #expect(error?.code == .invalidRequest)
    }

    @Test(arguments: [
        (#""logprobs":true"#, "logprobs"), (#""top_logprobs":3"#, "top_logprobs"), (#""logit_bias":{"1":5}"#, "logit_bias"),
        (#""modalities":["audio"]"#, "modalities"), (#""function_call":"auto""#, "function_call"),
    ])
    func fieldsDashScopeCannotHonourAreRefused(field: String, param: String) throws {
        let error = try self.failure(#"{"model":"m","messages":[{"role":"user","content":"x"}],\#(field)}"#)
        #expect(error?.param == param)
        #expect(error?.code == .unsupportedFeature)
    }

    @Test func toolOptionsWithoutToolsAndTextFormatAreDropped() throws {
        let body = try self.body(
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"auto","parallel_tool_calls":false,"response_format":{"type":"text"},"n":1}"#
        )
        #expect(body["parameters"] == ["result_format": "message"])
    }
}
