//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing
import Translate

/// Responses requests read, validated and translated to the chat model.
@Suite struct ResponsesRequestTests {
    static func request(_ json: String) throws -> ResponsesRequest {
        try ResponsesRequest(parsing: Array(json.utf8))
    }

    static func chat(_ json: String, history: [JSONObject] = []) throws -> JSONObject {
        try Self.request(json).chatRequest(history: history).body
    }

    @Test func aStringInputIsOneUserMessageAfterTheInstructions() throws {
        let chat = try Self.chat(#"{"model":"m","instructions":"Be brief","input":"Hi","max_output_tokens":50,"temperature":0.2}"#)
        #expect(chat["messages"] == [["role": "system", "content": "Be brief"], ["role": "user", "content": "Hi"]])
        #expect(chat["max_completion_tokens"] == 50)
        #expect(chat["temperature"] == 0.2)
        #expect(chat["stream"] == false)
    }

    @Test func aStreamAsksForUsage() throws {
        let chat = try Self.chat(#"{"model":"m","input":"Hi","stream":true}"#)
        #expect(chat["stream_options"] == ["include_usage": true])
    }

    /// A tool round trip: reasoning, a message and two calls become one assistant message with
    /// its reasoning and both tool calls; the outputs become tool messages.
    @Test func aToolRoundTripBecomesOneAssistantMessageAndToolMessages() throws {
        let chat = try Self.chat(
            #"""
            {"model":"m","input":[
              {"role":"user","content":"Weather?"},
              {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Need tools"}]},
              {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Checking."}]},
              {"type":"function_call","call_id":"c1","name":"weather","arguments":"{\"city\":\"Paris\"}"},
              {"type":"function_call","call_id":"c2","name":"time","arguments":"{}"},
              {"type":"function_call_output","call_id":"c1","output":"Sunny"},
              {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"Noon"}]}
            ],
            "tools":[{"type":"function","name":"weather","parameters":{"type":"object"},"strict":true}],
            "tool_choice":{"type":"function","name":"weather"}}
            """#
        )
        let messages = try #require(chat["messages"]?.arrayValue)
        #expect(messages.count == 4)
        #expect(messages[1]["role"] == "assistant")
        #expect(messages[1]["content"] == "Checking.")
        #expect(messages[1]["reasoning_content"] == "Need tools")
        #expect(messages[1]["tool_calls"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["c1", "c2"])
        #expect(messages[2] == ["role": "tool", "tool_call_id": "c1", "content": "Sunny"])
        #expect(messages[3]["content"] == "Noon")
        #expect(chat["tools"] == [["type": "function", "function": ["name": "weather", "parameters": ["type": "object"], "strict": true]]])
        #expect(chat["tool_choice"] == ["type": "function", "function": ["name": "weather"]])
    }

    @Test func historyComesBeforeTheNewInput() throws {
        let history: [JSONObject] = [
            ["type": "message", "role": "user", "content": "Hello"],
            ["id": "msg_1", "type": "message", "role": "assistant", "content": [["type": "output_text", "text": "Hi!"]]],
        ]
        let chat = try Self.chat(#"{"model":"m","input":"And again","previous_response_id":"resp_1"}"#, history: history)
        let roles = chat["messages"]?.arrayValue?.compactMap { $0["role"]?.stringValue }
        #expect(roles == ["user", "assistant", "user"])
    }

    @Test func formatsReasoningImagesAndDeveloperMessagesTranslate() throws {
        let chat = try Self.chat(
            #"""
            {"model":"m","reasoning":{"effort":"low","summary":"auto"},
             "text":{"format":{"type":"json_schema","name":"answer","schema":{"type":"object"},"strict":true}},
             "input":[{"role":"developer","content":"Rules"},
                      {"role":"user","content":[{"type":"input_text","text":"What is this?"},
                                                {"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"}]}]}
            """#
        )
        #expect(chat["reasoning_effort"] == "low")
        #expect(chat["response_format"] == ["type": "json_schema", "json_schema": ["name": "answer", "schema": ["type": "object"], "strict": true]])
        #expect(chat["messages"]?[0] == ["role": "system", "content": "Rules"])
        #expect(chat["messages"]?[1]?["content"]?[1] == ["type": "image_url", "image_url": ["url": "data:image/png;base64,AAAA", "detail": "low"]])
    }

    /// What the chat model cannot express is refused naming the field; what does not change
    /// the answer is dropped.
    @Test(arguments: [
        (#"{"model":"m","input":"x","tools":[{"type":"web_search"}]}"#, "tools[0].type"),
        (#"{"model":"m","input":"x","background":true}"#, "background"),
        (#"{"model":"m","input":"x","prompt":{"id":"p"}}"#, "prompt"),
        (#"{"model":"m","input":[{"type":"item_reference","id":"x"}]}"#, "input[0].type"),
        (#"{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]}"#, "input[0].content[0].image_url"),
        (#"{"model":"m","input":"x","tool_choice":{"type":"web_search"}}"#, "tool_choice"),
        (#"{"input":"x","prompt":{"id":"p"}}"#, "model"),
        (#"{"model":"m"}"#, "input"),
    ])
    func untranslatableFieldsAreRefusedByName(json: String, param: String) throws {
        let request = try Self.request(json)
        #expect(throws: TranslationError.self) { try request.chatRequest(history: []) }
        do {
            _ = try request.chatRequest(history: [])
        } catch let error as TranslationError {
            #expect(error.param == param)
            #expect(error.isClientError)
        } catch {}
    }

    @Test func harmlessFieldsAreDropped() throws {
        let chat = try Self.chat(
            #"{"model":"m","input":"x","store":false,"metadata":{"task_type":"code"},"include":["reasoning.encrypted_content"],"truncation":"auto"}"#
        )
        #expect(chat["store"] == nil && chat["metadata"] == nil && chat["include"] == nil && chat["truncation"] == nil)
    }

    @Test(arguments: [
        (#"{"model":"m","input":5}"#, "input"),
        (#"{"model":"m","input":[1]}"#, "input[0]"),
        (#"{"model":"m","input":"x","previous_response_id":"a\r\nb"}"#, "previous_response_id"),
        (#"{"model":"m","input":"x","metadata":{"k":1}}"#, "metadata.k"),
        (#"{"model":"m","input":"x","max_output_tokens":0}"#, "max_output_tokens"),
        (#"{"model":7,"input":"x"}"#, "model"),
    ])
    func invalidRequestsNameTheField(json: String, param: String) {
        #expect(throws: TranslationError.self) { try Self.request(json) }
        do {
            _ = try Self.request(json)
        } catch let error as TranslationError {
            #expect(error.param == param)
        } catch {}
    }

    @Test func metadataTaskTypeRoutes() throws {
        #expect(try Self.request(#"{"model":"auto","input":"x","metadata":{"task_type":"code"}}"#).taskType == "code")
    }

    @Test func hostileNestingIsAClientError() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: TranslationError.self) { try Self.request(#"{"model":"m","input":\#(deep)}"#) }
    }
}
