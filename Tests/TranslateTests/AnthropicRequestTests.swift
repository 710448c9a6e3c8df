//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// OpenAI requests → Anthropic Messages requests.
@Suite struct AnthropicRequestTests {
    typealias T = AnthropicTest

    // MARK: Recorded requests

    /// Each recorded Anthropic request, with the OpenAI request that says the same thing.
    static let recordedRequests: [(fixture: String, openAI: String)] = [
        (
            "anthropic/messages_request.json",
            #"""
            {"model":"gpt-4o","max_tokens":4000,"messages":[{"role":"system","content":"You are a helpful assistant"},
            {"role":"user","content":"Say hi in Portuguese"}]}
            """#
        ),
        (
            "anthropic/messages_request_cache_control.json",
            #"""
            {"model":"gpt-4o","max_tokens":4000,"messages":[
            {"role":"system","content":[{"type":"text","text":"You are a helpful assistant","cache_control":{"type":"ephemeral"}}]},
            {"role":"user","content":[{"type":"text","text":"Say hi in Portuguese","cache_control":{"type":"ephemeral"}}]}]}
            """#
        ),
        (
            "anthropic/messages_request_tools.json",
            #"""
            {"model":"gpt-4o","max_tokens":4000,"tool_choice":"auto","parallel_tool_calls":true,"tools":[\#(T.weatherTool)],
            "messages":[{"role":"system","content":"You are a helpful assistant"},{"role":"user","content":"What's the weather in Florence,Italy?"}]}
            """#
        ),
        (
            "anthropic/messages_request_tool_result.json",
            #"""
            {"model":"gpt-4o","max_tokens":4000,"tool_choice":"auto","parallel_tool_calls":true,"tools":[\#(T.weatherTool)],
            "messages":[{"role":"system","content":"You are a helpful assistant"},{"role":"user","content":"What's the weather in Florence,Italy?"},
            {"role":"assistant","content":"I'll check the weather in Florence, Italy for you.","tool_calls":[{"id":"toolu_01XLb9pzgfLa2EMyqWot6Ezt",
            "type":"function","function":{"name":"weather","arguments":"{\"location\":\"Florence,Italy\"}"}}]},
            {"role":"tool","tool_call_id":"toolu_01XLb9pzgfLa2EMyqWot6Ezt","content":"40 C"}]}
            """#
        ),
        (
            "anthropic/messages_request_thinking_stream.json",
            #"""
            {"model":"gpt-4o","max_tokens":4096,"stream":true,"thinking":{"type":"enabled","budget_tokens":4000},
            "tool_choice":"auto","parallel_tool_calls":true,"tools":[\#(T.weatherTool)],
            "messages":[{"role":"system","content":"You are a helpful assistant"},{"role":"user","content":"What's the weather in Florence, Italy?"}]}
            """#
        ),
    ]

    @Test(arguments: recordedRequests)
    func recordedRequestsAreReproduced(fixture: String, openAI: String) throws {
        let request = try chatRequest(openAI)
        let encoded = try T.dialect.encodeRequest(request, target: T.target)
        #expect(try JSONValue.parse(encoded.body) == (try Fixture.json(fixture)))
        #expect(encoded.path == "/v1/messages")
        #expect(encoded.method == "POST")
        #expect(encoded.isStreaming == request.stream)
    }

    @Test func openAIToolConversationFixtureMapsCallsAndResults() throws {
        let body = try T.body(String(decoding: try Fixture.bytes("openai/chat_request_tool_result.json"), as: UTF8.self))
        let expected: JSONValue = [
            ["role": "user", "content": [["type": "text", "text": "What's the weather in Florence,Italy?"]]],
            [
                "role": "assistant",
                "content": [
                    ["type": "tool_use", "id": "call_IUonKM9GCNis5eMRHuusMqoy", "name": "weather", "input": ["location": "Florence, Italy"]]
                ],
            ],
            [
                "role": "user",
                "content": [["type": "tool_result", "tool_use_id": "call_IUonKM9GCNis5eMRHuusMqoy", "content": [["type": "text", "text": "40 C"]]]],
            ],
        ]
        #expect(body["messages"] == expected)
        #expect(body["tool_choice"] == ["type": "auto"], "no parallel_tool_calls given, so no disable_parallel_tool_use")
        #expect(body["system"] == [["type": "text", "text": "You are a helpful assistant"]])
    }

    // MARK: Headers

    @Test func headersCarryVersionBetasAndStreamingAccept() throws {
        let dialect = AnthropicDialect(version: "2099-01-01", betas: ["a-1", "b-2"])
        let streaming = try dialect.encodeRequest(try chatRequest(T.request(messages: T.userHello, #""stream":true"#)), target: T.target)
        #expect(
            streaming.headers == [
                HTTPHeader("Content-Type", "application/json"), HTTPHeader("Accept", "text/event-stream"),
                HTTPHeader("anthropic-version", "2099-01-01"), HTTPHeader("anthropic-beta", "a-1,b-2"),
            ]
        )
        #expect(streaming.isStreaming)
        let plain = try T.dialect.encodeRequest(try chatRequest(T.request(messages: T.userHello)), target: T.target)
        #expect(
            plain.headers == [
                HTTPHeader("Content-Type", "application/json"), HTTPHeader("Accept", "application/json"),
                HTTPHeader("anthropic-version", "2023-06-01"),
            ]
        )
        #expect(!plain.isStreaming)
        #expect(try JSONValue.parse(plain.body)["stream"] == nil)
        #expect(T.dialect.authenticationHeaders(apiKey: "sk-ant-1") == [HTTPHeader("x-api-key", "sk-ant-1")])
    }

    // MARK: Messages

    @Test func systemAndDeveloperMessagesAnywhereBecomeTheSystemPrompt() throws {
        let body = try T.body(
            messages: #"""
                [{"role":"system","content":"A"},{"role":"user","content":"u1"},{"role":"developer","content":"B"},
                {"role":"assistant","content":"a1"},{"role":"system","content":[{"type":"text","text":"C"},{"type":"text","text":"D"}]},
                {"role":"user","content":"u2"}]
                """#
        )
        #expect(
            body["system"] == [
                ["type": "text", "text": "A"], ["type": "text", "text": "B"], ["type": "text", "text": "C"], ["type": "text", "text": "D"],
            ]
        )
        #expect(
            body["messages"] == [
                ["role": "user", "content": [["type": "text", "text": "u1"]]],
                ["role": "assistant", "content": [["type": "text", "text": "a1"]]],
                ["role": "user", "content": [["type": "text", "text": "u2"]]],
            ]
        )
    }

    @Test func consecutiveSameRoleTurnsAreMerged() throws {
        let body = try T.body(
            messages: #"""
                [{"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":"b"}]},
                {"role":"assistant","content":"c"},{"role":"assistant","content":"d"},{"role":"user","content":"e"}]
                """#
        )
        #expect(
            body["messages"] == [
                ["role": "user", "content": [["type": "text", "text": "a"], ["type": "text", "text": "b"]]],
                ["role": "assistant", "content": [["type": "text", "text": "c"], ["type": "text", "text": "d"]]],
                ["role": "user", "content": [["type": "text", "text": "e"]]],
            ]
        )
    }

    @Test func aLeadingAssistantTurnIsSentAsIs() throws {
        let body = try T.body(messages: #"[{"role":"system","content":"S"},{"role":"assistant","content":"Hi!"},{"role":"user","content":"Hey"}]"#)
        #expect(
            body["messages"] == [
                ["role": "assistant", "content": [["type": "text", "text": "Hi!"]]],
                ["role": "user", "content": [["type": "text", "text": "Hey"]]],
            ]
        )
    }

    @Test func emptyTextIsLeftOutAndEmptyMessagesDropped() throws {
        let body = try T.body(
            messages: #"""
                [{"role":"user","content":"q"},{"role":"assistant","content":""},{"role":"user","content":[{"type":"text","text":""},
                {"type":"text","text":"again"}]}]
                """#
        )
        #expect(body["messages"] == [["role": "user", "content": [["type": "text", "text": "q"], ["type": "text", "text": "again"]]]])
    }

    @Test func aConversationOfOnlySystemMessagesIsRejected() throws {
        let error = #expect(throws: TranslationError.self) { try T.body(messages: #"[{"role":"system","content":"S"}]"#) }
        #expect(error?.code == .invalidRequest)
        #expect(error?.param == "messages")
    }

    @Test func previousReasoningAndNamesAreDropped() throws {
        let body = try T.body(
            messages: #"""
                [{"role":"user","name":"ann","content":"q"},{"role":"assistant","content":"a","reasoning_content":"thoughts"},
                {"role":"user","content":"q2"}]
                """#
        )
        #expect(body["messages"]?[1] == ["role": "assistant", "content": [["type": "text", "text": "a"]]])
        #expect(body["messages"]?[0] == ["role": "user", "content": [["type": "text", "text": "q"]]])
    }

    @Test func messageLevelCacheControlMarksTheMessagesLastBlock() throws {
        let body = try T.body(
            messages: #"""
                [{"role":"system","content":"S","cache_control":{"type":"ephemeral"}},
                {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"cache_control":{"type":"ephemeral","ttl":"1h"}}]
                """#
        )
        #expect(body["system"] == [["type": "text", "text": "S", "cache_control": ["type": "ephemeral"]]])
        #expect(
            body["messages"]?[0]?["content"] == [
                ["type": "text", "text": "a"], ["type": "text", "text": "b", "cache_control": ["type": "ephemeral", "ttl": "1h"]],
            ]
        )
    }

    // MARK: Images and files

    @Test func imagesBecomeBase64OrURLSources() throws {
        let body = try T.body(
            messages: #"""
                [{"role":"user","content":[{"type":"text","text":"Compare"},
                {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}},
                {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}]
                """#
        )
        #expect(
            body["messages"]?[0]?["content"] == [
                ["type": "text", "text": "Compare"],
                ["type": "image", "source": ["type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="]],
                ["type": "image", "source": ["type": "url", "url": "https://example.com/cat.jpg"]],
            ]
        )
    }

    @Test func theRecordedMultipartRequestSendsItsImageByURL() throws {
        let body = try T.body(String(decoding: try Fixture.bytes("openai/chat_request_multipart.json"), as: UTF8.self))
        let url = try Fixture.json("openai/chat_request_multipart.json")["messages"]?[0]?["content"]?[1]?["image_url"]?["url"]
        #expect(body["messages"]?[0]?["content"]?[1] == ["type": "image", "source": ["type": "url", "url": try #require(url)]])
        #expect(body["max_tokens"] == 300)
    }

    @Test func imagesWithAnotherSchemeAreRejectedNamingTheURL() throws {
        let error = #expect(throws: TranslationError.self) {
            try T.body(
                messages: #"[{"role":"user","content":[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"ftp://a/b.png"}}]}]"#
            )
        }
        #expect(error?.code == .invalidRequest)
        #expect(error?.param == "messages[0].content[1].image_url.url")
    }

    @Test func filePartsBecomeDocuments() throws {
        let body = try T.body(
            messages: #"""
                [{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}},
                {"type":"file","file":{"file_data":"JVBERi0x"}}]}]
                """#
        )
        #expect(
            body["messages"]?[0]?["content"] == [
                ["type": "document", "source": ["type": "base64", "media_type": "application/pdf", "data": "JVBERi0="], "title": "a.pdf"],
                ["type": "document", "source": ["type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"]],
            ]
        )
    }

    @Test(arguments: [
        (#"[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA=","format":"wav"}}]}]"#, "messages[0].content[0].type"),
        (#"[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]"#, "messages[0].content[0].file.file_id"),
        (
            #"[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://a/b.png"}}]},{"role":"user","content":"x"}]"#,
            "messages[0].content[0].type"
        ),
        (
            #"[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"https://a/b.png"}}]}]"#,
            "messages[1].content[0].type"
        ),
        (#"[{"role":"user","content":"x"},{"role":"assistant","content":"a","audio":{"id":"audio_1"}}]"#, "messages[1].audio"),
        (#"[{"role":"user","content":"x"},{"role":"function","name":"f","content":"1"}]"#, "messages[1].role"),
    ])
    func contentAnthropicCannotTakeIsRejectedNamingIt(messages: String, param: String) throws {
        let error = #expect(throws: TranslationError.self) { try T.body(messages: messages) }
        #expect(error?.code == .unsupportedFeature)
        #expect(error?.param == param)
    }

    // MARK: Tool calls and results

    @Test func toolCallsAndResultsRoundTripInOneUserTurnOfResults() throws {
        let body = try T.body(
            messages: #"""
                [{"role":"user","content":"Weather in Paris and Rome?"},
                {"role":"assistant","content":"","tool_calls":[
                {"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"location\":\"Paris\",\"days\":[1,2]}"}},
                {"id":"call_2","type":"function","function":{"name":"weather","arguments":""}}]},
                {"role":"tool","tool_call_id":"call_1","content":"20 C"},
                {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"25"},{"type":"text","text":" C"}]},
                {"role":"tool","tool_call_id":"call_3","content":""},
                {"role":"user","content":"Thanks"}]
                """#
        )
        #expect(
            body["messages"] == [
                ["role": "user", "content": [["type": "text", "text": "Weather in Paris and Rome?"]]],
                [
                    "role": "assistant",
                    "content": [
                        ["type": "tool_use", "id": "call_1", "name": "weather", "input": ["location": "Paris", "days": [1, 2]]],
                        ["type": "tool_use", "id": "call_2", "name": "weather", "input": [:]],
                    ],
                ],
                [
                    "role": "user",
                    "content": [
                        ["type": "tool_result", "tool_use_id": "call_1", "content": [["type": "text", "text": "20 C"]]],
                        [
                            "type": "tool_result", "tool_use_id": "call_2",
                            "content": [["type": "text", "text": "25"], ["type": "text", "text": " C"]],
                        ],
                        ["type": "tool_result", "tool_use_id": "call_3"],
                        ["type": "text", "text": "Thanks"],
                    ],
                ],
            ]
        )
    }

    @Test func toolResultsGoFirstInTheirUserTurn() throws {
        let body = try T.body(
            messages: #"""
                [{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
                {"role":"user","content":"hurry"},{"role":"tool","tool_call_id":"c1","content":"done"}]
                """#
        )
        #expect(
            body["messages"]?[2] == [
                "role": "user",
                "content": [
                    ["type": "tool_result", "tool_use_id": "c1", "content": [["type": "text", "text": "done"]]], ["type": "text", "text": "hurry"],
                ],
            ]
        )
    }

    @Test(arguments: [#"{\"location\":"#, #"[1,2]"#, #"\"text\""#])
    func toolCallArgumentsThatAreNotAJSONObjectAreRejected(arguments: String) throws {
        let error = #expect(throws: TranslationError.self) {
            try T.body(
                messages: #"""
                    [{"role":"user","content":"q"},{"role":"assistant","content":null,"tool_calls":[
                    {"id":"c0","type":"function","function":{"name":"f","arguments":"{}"}},
                    {"id":"c1","type":"function","function":{"name":"f","arguments":"\#(arguments)"}}]}]
                    """#
            )
        }
        #expect(error?.code == .invalidRequest)
        #expect(error?.param == "messages[1].tool_calls[1].function.arguments")
    }

    // MARK: Tools and tool_choice

    @Test func toolsBecomeNameDescriptionAndInputSchema() throws {
        let body = try T.body(
            messages: T.userHello,
            #"""
            "tools":[\#(T.weatherTool),{"type":"function","function":{"name":"now"},"cache_control":{"type":"ephemeral"}},
            {"type":"function","function":{"name":"add","parameters":{"properties":{"a":{"type":"number"}}}}}]
            """#
        )
        #expect(
            body["tools"] == [
                [
                    "name": "weather", "description": "Get weather information for a location",
                    "input_schema": [
                        "properties": ["location": ["description": "the city", "type": "string"]], "required": ["location"], "type": "object",
                    ],
                ],
                ["name": "now", "input_schema": ["type": "object", "properties": [:]], "cache_control": ["type": "ephemeral"]],
                ["name": "add", "input_schema": ["type": "object", "properties": ["a": ["type": "number"]]]],
            ]
        )
        #expect(body["tool_choice"] == nil, "Anthropic's default is auto")
    }

    @Test(
        arguments: [
            (#""auto""#, nil, ["type": "auto"] as JSONValue),
            (#""none""#, nil, ["type": "none"]),
            (#""required""#, nil, ["type": "any"]),
            (#"{"type":"function","function":{"name":"weather"}}"#, nil, ["type": "tool", "name": "weather"]),
            (#""auto""#, false, ["type": "auto", "disable_parallel_tool_use": true]),
            (#""none""#, false, ["type": "none"]),
            (#""required""#, false, ["type": "any", "disable_parallel_tool_use": true]),
            (#"{"type":"function","function":{"name":"weather"}}"#, false, ["type": "tool", "name": "weather", "disable_parallel_tool_use": true]),
            (#""required""#, true, ["type": "any", "disable_parallel_tool_use": false]),
            (nil, false, ["type": "auto", "disable_parallel_tool_use": true]),
            (nil, true, ["type": "auto", "disable_parallel_tool_use": false]),
        ] as [(String?, Bool?, JSONValue)]
    )
    func toolChoiceAndParallelToolCalls(toolChoice: String?, parallel: Bool?, expected: JSONValue) throws {
        var extra = #""tools":[\#(T.weatherTool)]"#
        if let toolChoice { extra += #","tool_choice":\#(toolChoice)"# }
        if let parallel { extra += #","parallel_tool_calls":\#(parallel)"# }
        #expect(try T.body(messages: T.userHello, extra)["tool_choice"] == expected)
    }

    @Test func withoutToolsAToolChoiceIsDroppedOrRejected() throws {
        let auto = try T.body(messages: T.userHello, #""tool_choice":"auto","parallel_tool_calls":false"#)
        #expect(auto["tool_choice"] == nil)
        #expect(auto["tools"] == nil)
        #expect(try T.body(messages: T.userHello, #""tool_choice":"none""#)["tool_choice"] == nil)
        let error = #expect(throws: TranslationError.self) { try T.body(messages: T.userHello, #""tool_choice":"required""#) }
        #expect(error?.code == .invalidRequest)
        #expect(error?.param == "tool_choice")
    }

    @Test func nonFunctionToolsAreRejected() throws {
        let error = #expect(throws: TranslationError.self) {
            try T.body(messages: T.userHello, #""tools":[\#(T.weatherTool),{"type":"custom","custom":{"name":"grammar"}}]"#)
        }
        #expect(error?.code == .unsupportedFeature)
        #expect(error?.param == "tools[1]")
    }

    // MARK: max_tokens

    @Test func maxTokensComeFromTheRequestThenTheModelThenTheDefault() throws {
        #expect(try T.body(messages: T.userHello, #""max_completion_tokens":123,"max_tokens":7"#)["max_tokens"] == 123)
        #expect(try T.body(messages: T.userHello, #""max_tokens":77"#)["max_tokens"] == 77)
        #expect(
            try T.body(messages: T.userHello, #""max_tokens":77"#, target: UpstreamTarget(model: "m", maxOutputTokens: 64_000))["max_tokens"] == 77
        )
        #expect(try T.body(messages: T.userHello, target: UpstreamTarget(model: "m", maxOutputTokens: 64_000))["max_tokens"] == 64_000)
        #expect(try T.body(messages: T.userHello)["max_tokens"] == 4096)
        let custom = AnthropicDialect(defaultMaxTokens: 1000)
        #expect(try T.body(T.request(messages: T.userHello), dialect: custom)["max_tokens"] == 1000)
    }

    @Test func theModelIsTheTargetsName() throws {
        #expect(try T.body(messages: T.userHello, target: UpstreamTarget(model: "claude-opus-4-1"))["model"] == "claude-opus-4-1")
    }

    // MARK: Reasoning

    @Test(arguments: [("minimal", 1024), ("low", 2048), ("medium", 4096), ("high", 16_384), ("xhigh", 32_768)])
    func reasoningEffortBecomesAThinkingBudget(effort: String, budget: Int) throws {
        let unlimited = try T.body(messages: T.userHello, #""reasoning_effort":"\#(effort)""#)
        #expect(unlimited["thinking"] == ["type": "enabled", "budget_tokens": .int(budget)])
        #expect(unlimited["max_tokens"] == .int(4096 + budget), "the default limit is left for the answer after thinking")

        let model = try T.body(
            messages: T.userHello,
            #""reasoning_effort":"\#(effort)""#,
            target: UpstreamTarget(model: "m", maxOutputTokens: 64_000)
        )
        #expect(model["thinking"] == ["type": "enabled", "budget_tokens": .int(budget)])
        #expect(model["max_tokens"] == 64_000)

        let client = try T.body(messages: T.userHello, #""reasoning_effort":"\#(effort)","max_completion_tokens":3000"#)
        #expect(client["max_tokens"] == 3000)
        #expect(client["thinking"]?["budget_tokens"] == .int(min(budget, 2999)), "the budget must stay below max_tokens")
    }

    @Test func reasoningEffortNoneAndNoEffortMeanNoThinking() throws {
        #expect(try T.body(messages: T.userHello, #""reasoning_effort":"none""#)["thinking"] == nil)
        #expect(try T.body(messages: T.userHello)["thinking"] == nil)
        let disabled = try T.body(messages: T.userHello, #""reasoning_effort":"high","thinking":{"type":"disabled"}"#)
        #expect(disabled["thinking"] == nil, "the explicit thinking object wins")
    }

    @Test func unknownReasoningEffortIsRejected() throws {
        let error = #expect(throws: TranslationError.self) { try T.body(messages: T.userHello, #""reasoning_effort":"extreme""#) }
        #expect(error?.code == .invalidRequest)
        #expect(error?.param == "reasoning_effort")
    }

    @Test(arguments: [
        (#""max_completion_tokens":1024"#, UpstreamTarget(model: "m"), "max_completion_tokens"),
        (#""max_tokens":500"#, UpstreamTarget(model: "m"), "max_tokens"),
        ("", UpstreamTarget(model: "m", maxOutputTokens: 1000), "reasoning_effort"),
    ])
    func aLimitTooSmallForThinkingIsRejected(limit: String, target: UpstreamTarget, param: String) throws {
        let extra = #""reasoning_effort":"low""# + (limit.isEmpty ? "" : ",\(limit)")
        let error = #expect(throws: TranslationError.self) { try T.body(messages: T.userHello, extra, target: target) }
        #expect(error?.code == .unsupportedFeature)
        #expect(error?.param == param)
    }

    @Test(arguments: [
        (#""temperature":0.5"#, "temperature"),
        (#""top_p":0.9"#, "top_p"),
        (#""top_k":40"#, "top_k"),
        (#""tools":[\#(AnthropicTest.weatherTool)],"tool_choice":"required""#, "tool_choice"),
        (#""tools":[\#(AnthropicTest.weatherTool)],"tool_choice":{"type":"function","function":{"name":"weather"}}"#, "tool_choice"),
        (#""response_format":{"type":"json_object"}"#, "response_format"),
    ])
    func thinkingRulesOutWhatAnthropicForbidsWithIt(extra: String, param: String) throws {
        let error = #expect(throws: TranslationError.self) { try T.body(messages: T.userHello, #""reasoning_effort":"medium","# + extra) }
        #expect(error?.code == .unsupportedFeature)
        #expect(error?.param == param)
    }

    @Test func thinkingAllowsTheDefaultTemperatureAndAHighTopP() throws {
        let body = try T.body(messages: T.userHello, #""reasoning_effort":"medium","temperature":1,"top_p":0.95"#)
        #expect(body["thinking"] == ["type": "enabled", "budget_tokens": 4096])
        #expect(body["temperature"] == nil)
        #expect(body["top_p"] == 0.95)
    }

    @Test func thinkingIsLeftOffWhenTheLastAssistantTurnCalledTools() throws {
        let messages = #"""
            [{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
            {"role":"tool","tool_call_id":"c1","content":"1"}]
            """#
        let body = try T.body(messages: messages, #""reasoning_effort":"high","temperature":0.2"#)
        #expect(body["thinking"] == nil)
        #expect(body["max_tokens"] == 4096)
        #expect(body["temperature"] == 0.2)
        let laterTurn = try T.body(
            messages: #"[{"role":"user","content":"q"},{"role":"assistant","content":"a"},{"role":"user","content":"q2"}]"#,
            #""reasoning_effort":"high""#
        )
        #expect(laterTurn["thinking"] == ["type": "enabled", "budget_tokens": 16_384])
    }

    @Test func invalidThinkingObjectsAreRejected() throws {
        for (thinking, param) in [
            (#"{"type":"enabled"}"#, "thinking.budget_tokens"), (#"{"type":"sometimes"}"#, "thinking.type"), ("true", "thinking"),
        ] {
            let error = #expect(throws: TranslationError.self) { try T.body(messages: T.userHello, #""thinking":\#(thinking)"#) }
            #expect(error?.code == .invalidRequest)
            #expect(error?.param == param)
        }
    }

    // MARK: Sampling and metadata

    @Test func samplingStopAndUserAreTranslated() throws {
        let body = try T.body(
            messages: T.userHello,
            #""temperature":0.70,"top_p":0.9,"top_k":5,"stop":["END","STOP"],"user":"user-42","safety_identifier":"other""#
        )
        #expect(body["temperature"]?.serialized() == Array("0.70".utf8), "the client's number literal is kept")
        #expect(body["top_p"] == 0.9)
        #expect(body["top_k"] == 5)
        #expect(body["stop_sequences"] == ["END", "STOP"])
        #expect(body["metadata"] == ["user_id": "user-42"])

        let single = try T.body(messages: T.userHello, #""stop":"END","safety_identifier":"sid-1""#)
        #expect(single["stop_sequences"] == ["END"])
        #expect(single["metadata"] == ["user_id": "sid-1"])
    }

    @Test func temperatureAboveAnthropicsRangeIsRejected() throws {
        let error = #expect(throws: TranslationError.self) { try T.body(messages: T.userHello, #""temperature":1.5"#) }
        #expect(error?.code == .unsupportedFeature)
        #expect(error?.param == "temperature")
    }

    @Test func harmlessFieldsAreDropped() throws {
        let body = try T.body(
            messages: T.userHello,
            #"""
            "seed":7,"frequency_penalty":0.5,"presence_penalty":0.1,"logprobs":false,"top_logprobs":0,"n":1,"store":true,
            "metadata":{"k":"v"},"service_tier":"auto","prediction":{"type":"content","content":"x"},"stream_options":{"include_usage":true},
            "logit_bias":{},"modalities":["text"],"response_format":{"type":"text"},"prompt_cache_key":"k","verbosity":"low","enable_thinking":true
            """#
        )
        #expect(
            body == [
                "model": "claude-sonnet-4-20250514", "max_tokens": 4096,
                "messages": [["role": "user", "content": [["type": "text", "text": "Hello"]]]],
            ]
        )
    }

    @Test(arguments: [
        (#""n":2"#, "n"),
        (#""logprobs":true"#, "logprobs"),
        (#""top_logprobs":3"#, "top_logprobs"),
        (#""audio":{"voice":"alloy","format":"wav"}"#, "audio"),
        (#""modalities":["text","audio"]"#, "modalities"),
        (#""logit_bias":{"50256":-100}"#, "logit_bias"),
        (#""functions":[{"name":"f","parameters":{}}]"#, "functions"),
        (#""function_call":"auto""#, "function_call"),
        (#""web_search_options":{}"#, "web_search_options"),
    ])
    func fieldsAnthropicCannotExpressAreRejectedNamingThem(extra: String, param: String) throws {
        let error = #expect(throws: TranslationError.self) { try T.body(messages: T.userHello, extra) }
        #expect(error?.code == .unsupportedFeature)
        #expect(error?.isClientError == true)
        #expect(error?.param == param)
        #expect(error?.message.isEmpty == false)
    }

    // MARK: Structured answers

    @Test func jsonSchemaIsForcedAsATool() throws {
        let fixture = try Fixture.json("openai/chat_request_json_schema.json")
        let body = try T.body(String(decoding: try Fixture.bytes("openai/chat_request_json_schema.json"), as: UTF8.self))
        let schema = try #require(fixture["response_format"]?["json_schema"]?["schema"])
        #expect(
            body["tools"] == [["name": "Book", "description": "A book with title, author, genres, and publication year", "input_schema": schema]]
        )
        #expect(body["tool_choice"] == ["type": "tool", "name": "Book", "disable_parallel_tool_use": true])
        #expect(body["max_tokens"] == 4000)
        #expect(body["response_format"] == nil)
    }

    @Test func jsonObjectIsForcedAsAPermissiveObjectTool() throws {
        let body = try T.body(messages: T.userHello, #""response_format":{"type":"json_object"}"#)
        let tool = try #require(body["tools"]?[0])
        #expect(tool["name"] == "json_object")
        #expect(tool["input_schema"] == ["type": "object", "additionalProperties": true])
        #expect(tool["description"]?.stringValue?.isEmpty == false)
        #expect(body["tool_choice"] == ["type": "tool", "name": "json_object", "disable_parallel_tool_use": true])
    }

    @Test func aSchemaWithoutATypeIsDeclaredAnObject() throws {
        let body = try T.body(
            messages: T.userHello,
            #""response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"properties":{"a":{"type":"string"}}}}}"#
        )
        #expect(body["tools"]?[0]?["input_schema"] == ["type": "object", "properties": ["a": ["type": "string"]]])
    }

    @Test(
        arguments: [
            (nil, ["type": "any"] as JSONValue, true),
            (#""auto""#, ["type": "any"], true),
            (#""none""#, ["type": "tool", "name": "answer", "disable_parallel_tool_use": true], true),
            (#""required""#, ["type": "any"], false),
            (#"{"type":"function","function":{"name":"weather"}}"#, ["type": "tool", "name": "weather"], false),
        ] as [(String?, JSONValue, Bool)]
    )
    func jsonSchemaWithClientTools(toolChoice: String?, expected: JSONValue, addsAnswerTool: Bool) throws {
        var extra =
            #""tools":[\#(T.weatherTool)],"response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object"}}}"#
        if let toolChoice { extra += #","tool_choice":\#(toolChoice)"# }
        let body = try T.body(messages: T.userHello, extra)
        #expect(body["tool_choice"] == expected)
        #expect(body["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == (addsAnswerTool ? ["weather", "answer"] : ["weather"]))
    }

    @Test func jsonSchemaProblemsAreRejected() throws {
        let array = #expect(throws: TranslationError.self) {
            try T.body(messages: T.userHello, #""response_format":{"type":"json_schema","json_schema":{"name":"list","schema":{"type":"array"}}}"#)
        }
        #expect(array?.code == .unsupportedFeature)
        #expect(array?.param == "response_format.json_schema.schema")

        let notASchema = #expect(throws: TranslationError.self) {
            try T.body(messages: T.userHello, #""response_format":{"type":"json_schema","json_schema":{"name":"s","schema":"string"}}"#)
        }
        #expect(notASchema?.code == .invalidRequest)
        #expect(notASchema?.param == "response_format.json_schema.schema")

        let collision = #expect(throws: TranslationError.self) {
            try T.body(
                messages: T.userHello,
                #""tools":[\#(T.weatherTool)],"response_format":{"type":"json_schema","json_schema":{"name":"weather","schema":{"type":"object"}}}"#
            )
        }
        #expect(collision?.code == .unsupportedFeature)
        #expect(collision?.param == "response_format.json_schema.name")
    }
}
