//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

@Suite struct ChatRequestTests {
    @Test(arguments: [
        "openai/chat_request.json", "openai/chat_request_tools.json", "openai/chat_request_tool_result.json",
        "openai/chat_request_multipart.json", "openai/chat_request_json_schema.json", "openai/chat_request_stream.json",
        "deepseek/chat_request.json", "dashscope/compat_chat_request.json", "dashscope/compat_stream_thinking_request.json",
    ])
    func recordedRequestsParse(fixture: String) throws {
        let bytes = try Fixture.bytes(fixture)
        let request = try ChatRequest(parsing: bytes)
        let json = try JSONValue.parse(bytes)
        #expect(request.model == json["model"]?.stringValue)
        #expect(request.messages.count == json["messages"]?.arrayValue?.count)
        #expect(request.stream == (json["stream"]?.boolValue ?? false))
        #expect(request.body == json.objectValue)
    }

    @Test func typedViewOfMessagesAndTools() throws {
        let request = try ChatRequest(parsing: try Fixture.bytes("openai/chat_request_stream.json"))
        #expect(request.includeUsage)
        #expect(request.maxOutputTokens == 4000)
        #expect(request.tools.map(\.name) == ["weather"])
        #expect(request.messages.map(\.role) == [.system, .user, .assistant, .tool])
        #expect(
            request.messages[2].toolCalls == [
                ToolCall(id: "call_7kE4IjtnwXcGbX6hDM7xFu8T", name: "weather", arguments: #"{"location":"Florence, Italy"}"#)
            ]
        )
        #expect(request.messages[3].toolCallID == "call_7kE4IjtnwXcGbX6hDM7xFu8T")
    }

    @Test func multipartContentKeepsImagesAndText() throws {
        let request = try ChatRequest(parsing: try Fixture.bytes("openai/chat_request_multipart.json"))
        guard case .parts(let parts) = request.messages.last?.content else {
            Issue.record("expected parts")
            return
        }
        #expect(parts.contains { if case .imageURL = $0 { true } else { false } })
        #expect(parts.contains { $0.text != nil })
    }

    @Test func taskTypeIsReadAndRemovedFromTheForwardedBody() throws {
        let request = try chatRequest(#"{"model":"auto","task_type":"translation","messages":[{"role":"user","content":"hi"}]}"#)
        #expect(request.taskType == "translation")
        #expect(request.body["task_type"] == nil)
    }

    /// Counts the quotas compute with: negative (`n`: below 1) or too large to sum, 400 naming the field.
    @Test(arguments: [
        ("max_tokens", "-1"), ("max_tokens", "9223372036854775807"), ("max_tokens", "4294967297"),
        ("max_completion_tokens", "-9223372036854775807"), ("max_completion_tokens", "8.9e18"), ("n", "0"), ("n", "129"),
    ])
    func countsOutOfRangeAreRefusedNamingTheField(field: String, value: String) {
        let body = #"{"model":"m","messages":[{"role":"user","content":"x"}],"\#(field)":\#(value)}"#
        #expect {
            try chatRequest(body)
        } throws: { error in
            (error as? TranslationError)?.param == field
        }
    }

    @Test func providerTokenCountsAreClampedSoSumsCannotOverflow() throws {
        let json = try JSONValue.parse(
            Array(#"{"prompt_tokens":9223372036854775807,"completion_tokens":-5,"total_tokens":-9223372036854775807}"#.utf8)
        )
        let usage = try #require(Usage(openAI: json))
        #expect(usage.inputTokens == Usage.maximumTokens && usage.outputTokens == 0)
        #expect(usage.totalTokens == Usage.maximumTokens)
    }

    @Test func maxCompletionTokensWinsOverMaxTokens() throws {
        let request = try chatRequest(#"{"model":"m","max_tokens":10,"max_completion_tokens":20,"messages":[{"role":"user","content":"x"}]}"#)
        #expect(request.maxOutputTokens == 20)
    }

    @Test(arguments: [
        (#"[1]"#, nil as String?, "must be a JSON object"),
        (#"{"messages":[{"role":"user","content":"x"}]}"#, "model", "'model' is required"),
        (#"{"model":5,"messages":[]}"#, "model", "must be a string, not number"),
        (#"{"model":"m","messages":[]}"#, "messages", "at least one message"),
        (#"{"model":"m","messages":"hi"}"#, "messages", "must be an array"),
        (#"{"model":"m","messages":[{"role":"robot","content":"x"}]}"#, "messages[0].role", "not a valid role"),
        (#"{"model":"m","messages":[{"role":"user","content":7}]}"#, "messages[0].content", "string or an array"),
        (#"{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}"#, "messages[0].content[0].text", "is required"),
        (#"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#, "messages[0].tool_call_id", "needs 'tool_call_id'"),
        (#"{"model":"m","stream":"yes","messages":[{"role":"user","content":"x"}]}"#, "stream", "must be a boolean"),
        (#"{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"x"}]}"#, "max_tokens", "must be an integer"),
        (
            #"{"model":"m","tools":[{"type":"function","function":{}}],"messages":[{"role":"user","content":"x"}]}"#, "tools[0].function.name",
            "is required"
        ),
        (#"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"a"}]}]}"#, "messages[0].tool_calls[0].function", "is required"),
        (#"{"model":"m",,}"#, nil, "not valid JSON"),
    ])
    func invalidRequestsNameTheField(body: String, param: String?, message: String) {
        let error = #expect(throws: TranslationError.self) { try chatRequest(body) }
        #expect(error?.code == .invalidRequest)
        #expect(error?.param == param)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test func optionsAreReadForNativeDialects() throws {
        let request = try chatRequest(
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0.5,"top_p":1,"stop":"END","seed":7,"#
                + #""user":"u1","n":2,"tool_choice":{"type":"function","function":{"name":"f"}},"parallel_tool_calls":false,"#
                + #""response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object"},"strict":true}},"#
                + #""reasoning_effort":"high"}"#
        )
        var expected = ChatOptions()
        expected.temperature = 0.5
        expected.topP = 1
        expected.stop = ["END"]
        expected.seed = 7
        expected.user = "u1"
        expected.choiceCount = 2
        expected.toolChoice = .function("f")
        expected.parallelToolCalls = false
        expected.responseFormat = .jsonSchema(name: "r", schema: ["type": "object"], strict: true)
        expected.reasoningEffort = "high"
        #expect(request.options == expected)
        #expect(
            try chatRequest(#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"required","stop":["a","b"]}"#).options.toolChoice
                == .required
        )
    }

    @Test(arguments: [
        (#""temperature":"hot""#, "temperature"),
        (#""stop":[1]"#, "stop"),
        (#""tool_choice":"sometimes""#, "tool_choice"),
        (#""tool_choice":{"type":"function"}"#, "tool_choice.function"),
        (#""response_format":{"type":"xml"}"#, "response_format.type"),
        (#""response_format":{"type":"json_schema"}"#, "response_format.json_schema"),
    ])
    func invalidOptionsNameTheField(field: String, param: String) {
        let error = #expect(throws: TranslationError.self) {
            try chatRequest(#"{"model":"m","messages":[{"role":"user","content":"x"}],"# + field + "}")
        }
        #expect(error?.param == param)
    }

    @Test func hostileNestingIsAClientError() {
        let deep =
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"x":"# + String(repeating: "[", count: 5000)
            + String(repeating: "]", count: 5000) + "}"
        let error = #expect(throws: TranslationError.self) { try chatRequest(deep) }
        #expect(error?.code == .invalidRequest)
    }
}
