//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// OpenAI requests → Gemini `generateContent` bodies.
@Suite struct GeminiRequestTests {
    let gemini = GeminiDialect()
    let target = UpstreamTarget(model: "gemini-2.5-flash")

    /// The body Gemini gets for `json`.
    func body(_ json: String, dialect: GeminiDialect = GeminiDialect(), target: UpstreamTarget? = nil) throws -> JSONValue {
        try JSONValue.parse(try dialect.encodeRequest(try chatRequest(json), target: target ?? self.target).body)
    }

    /// The error encoding `json` throws.
    func failure(_ json: String) throws -> TranslationError? {
        let request = try chatRequest(json)
        return #expect(throws: TranslationError.self) { try self.gemini.encodeRequest(request, target: self.target) }
    }

    // MARK: Recorded requests

    /// The conversation of `openai/chat_request_tool_result.json` as the recorded Gemini exchange
    /// had it: call id "1", the arguments Gemini sent, and the signature it returned.
    static let toolResultConversation = #"""
        {"model":"gpt-4o","max_tokens":4000,"tool_choice":"auto","messages":[
          {"role":"system","content":"You are a helpful assistant"},
          {"role":"user","content":"What's the weather in Florence,Italy?"},
          {"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"weather","arguments":"{\"location\":\"Florence,Italy\"}"},
            "extra_content":{"google":{"thought_signature":"CvMBAb4+9vvZC/KtDBiEfP1WF+wUiObd6G6yg5vTA8dfeleB3pTysSfmipkwxCrjEL9Y29JxnkMMXZvzkVMlyiK01pvWtZ++SnHMyuy9J04IrT/6oDhaDculJL+1gJhI+4i1UlPgJBXlUnpkPcznVuYKh6YEvWhNQc3Wrz305DeBdPIb2WmZmGv2gOVlhL3yjUrmxVWuRrtt9bQHX9B29bKtvY6L5QnE+iXEDpDlB6N5Qoe0JDqjJMn2K4WmVbxXivQN+XcYrEeRbV8v0A3yKIIxozry6h8C5cWiqMcXdaPK+tDNq4+tljWouipUhKvSkQY1yQ3K"}}}]},
          {"role":"tool","tool_call_id":"1","content":"40 C"}],
         "tools":[{"type":"function","function":{"name":"weather","strict":false,"description":"Get weather information for a location",
           "parameters":{"type":"object","properties":{"location":{"type":"string","description":"the city"}},"required":["location"]}}}]}
        """#

    /// The recorded thinking request: no token limit, the smallest thinking budget.
    static let thinkingRequest = #"""
        {"model":"gpt-4o","reasoning_effort":"minimal","tool_choice":"auto","messages":[
          {"role":"system","content":"You are a helpful assistant"},
          {"role":"user","content":"What's the weather in Florence, Italy?"}],
         "tools":[{"type":"function","function":{"name":"weather","description":"Get weather information for a location",
           "parameters":{"type":"object","properties":{"location":{"type":"string","description":"the city"}},"required":["location"]}}}]}
        """#

    @Test(arguments: [
        ("gemini/generate_request.json", "openai/chat_request.json"),
        ("gemini/generate_request_tools.json", "openai/chat_request_tools.json"),
        ("gemini/generate_request_function_response.json", Self.toolResultConversation),
        ("gemini/generate_request_thinking.json", Self.thinkingRequest),
    ])
    func recordedRequestsAreReproduced(geminiFixture: String, openAI: String) throws {
        let bytes = openAI.hasSuffix(".json") ? try Fixture.bytes(openAI) : Array(openAI.utf8)
        let encoded = try self.gemini.encodeRequest(try ChatRequest(parsing: bytes), target: self.target)
        #expect(try JSONValue.parse(encoded.body) == (try Fixture.json(geminiFixture)))
        #expect(encoded.method == "POST")
        #expect(encoded.path == "/v1beta/models/gemini-2.5-flash:generateContent")
        #expect(!encoded.isStreaming)
        #expect(encoded.headers.contains(HTTPHeader("Content-Type", "application/json")))
    }

    @Test func streamsUseServerSentEvents() throws {
        let request = try chatRequest(#"{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}"#)
        let encoded = try self.gemini.encodeRequest(request, target: self.target)
        #expect(encoded.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        #expect(encoded.isStreaming)
        #expect(encoded.headers.contains(HTTPHeader("Accept", "text/event-stream")))
        #expect(try JSONValue.parse(encoded.body)["contents"] == [["role": "user", "parts": [["text": "x"]]]])
    }

    @Test(arguments: [
        ("v1beta", "gemini-2.5-pro", "/v1beta/models/gemini-2.5-pro:generateContent"),
        ("v1", "gemini-2.5-pro", "/v1/models/gemini-2.5-pro:generateContent"),
        ("v1beta", "models/gemini-2.5-pro", "/v1beta/models/gemini-2.5-pro:generateContent"),
        ("v1beta", "tunedModels/my-model-7", "/v1beta/tunedModels/my-model-7:generateContent"),
        ("v1beta", "gemini 2.5/../x?y", "/v1beta/models/gemini%202.5%2F..%2Fx%3Fy:generateContent"),
    ])
    func pathsNameTheModelSafely(version: String, model: String, path: String) throws {
        let request = try chatRequest(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
        let encoded = try GeminiDialect(apiVersion: version).encodeRequest(request, target: UpstreamTarget(model: model))
        #expect(encoded.path == path)
    }

    @Test func keyGoesInTheGoogleHeader() {
        #expect(self.gemini.authenticationHeaders(apiKey: "AIza-1") == [HTTPHeader("x-goog-api-key", "AIza-1")])
    }

    // MARK: Roles and content

    @Test func systemMessagesAnywhereBecomeTheSystemInstructionAndTurnsMerge() throws {
        let body = try self.body(
            #"{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"a"},"#
                + #"{"role":"developer","content":[{"type":"text","text":"Answer in French."}]},{"role":"user","content":"b"},"#
                + #"{"role":"assistant","content":"c"},{"role":"assistant","content":[{"type":"text","text":"d"}]},{"role":"user","content":""},"#
                + #"{"role":"user","content":[{"type":"text","text":"e"},{"type":"text","text":"f"}]}]}"#
        )
        #expect(body["systemInstruction"] == ["role": "user", "parts": [["text": "Be brief."], ["text": "Answer in French."]]])
        #expect(
            body["contents"] == [
                ["role": "user", "parts": [["text": "a"], ["text": "b"]]],
                ["role": "model", "parts": [["text": "c"], ["text": "d"]]],
                ["role": "user", "parts": [["text": "e"], ["text": "f"]]],
            ]
        )
    }

    @Test func withoutSystemMessagesThereIsNoSystemInstruction() throws {
        let body = try self.body(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#)
        #expect(body["systemInstruction"] == nil)
        #expect(body["generationConfig"] == nil)
        #expect(body["tools"] == nil)
        #expect(body["toolConfig"] == nil)
    }

    @Test func imagesAudioAndFilesBecomeInlineOrFileData() throws {
        let body = try self.body(
            #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},"#
                + #"{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}},"#
                + #"{"type":"image_url","image_url":{"url":"https://example.com/cat.JPG?size=large"}},"#
                + #"{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},"#
                + #"{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}}]}]}"#
        )
        #expect(
            body["contents"]?[0]?["parts"] == [
                ["text": "What is this?"],
                ["inlineData": ["mimeType": "image/png", "data": "iVBORw0KGgo="]],
                ["fileData": ["mimeType": "image/jpeg", "fileUri": "https://example.com/cat.JPG?size=large"]],
                ["inlineData": ["mimeType": "audio/wav", "data": "UklGRg=="]],
                ["inlineData": ["mimeType": "application/pdf", "data": "JVBERi0="]],
            ]
        )
    }

    @Test(arguments: [
        (
            #"[{"type":"image_url","image_url":{"url":"https://example.com/render?id=7"}}]"#, "messages[0].content[0].image_url.url",
            TranslationError.Code.unsupportedFeature
        ),
        (#"[{"type":"image_url","image_url":{"url":"ftp://example.com/a.png"}}]"#, "messages[0].content[0].image_url.url", .invalidRequest),
        (#"[{"type":"text","text":"a"},{"type":"file","file":{"file_id":"file-1"}}]"#, "messages[0].content[1].file", .unsupportedFeature),
        (#"[{"type":"video_url","video_url":{"url":"https://example.com/a.mp4"}}]"#, "messages[0].content[0]", .unsupportedFeature),
    ])
    func unusableMediaIsRefusedNamingThePart(content: String, param: String, code: TranslationError.Code) throws {
        let error = try self.failure(#"{"model":"m","messages":[{"role":"user","content":\#(content)}]}"#)
        #expect(error?.param == param)
        #expect(error?.code == code)
        #expect(error?.isClientError == true)
    }

    @Test func imagesInSystemMessagesAreRefused() throws {
        let error = try self.failure(
            #"{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://e.com/a.png"}}]},"#
                + #"{"role":"user","content":"x"}]}"#
        )
        #expect(error?.param == "messages[0].content[0]")
        #expect(error?.code == .unsupportedFeature)
    }

    // MARK: Tool calls and results

    static let toolRoundTrip =
        #"{"model":"m","messages":[{"role":"user","content":"Weather in Rome and Oslo?"},"#
        + #"{"role":"assistant","content":"Checking.","tool_calls":["#
        + #"{"id":"call_a","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Rome\",\"days\":2}"}},"#
        + #"{"id":"call_b","type":"function","function":{"name":"forecast","arguments":""}}]},"#
        + #"{"role":"tool","tool_call_id":"call_b","content":"{\"temp\":12,\"sky\":\"rain\"}"},"#
        + #"{"role":"tool","tool_call_id":"call_a","content":"sunny"},"#
        + #"{"role":"user","content":"Thanks"}]}"#

    @Test func toolCallsAndResultsRoundTripWithNamesFoundByID() throws {
        let body = try self.body(Self.toolRoundTrip)
        #expect(
            body["contents"] == [
                ["role": "user", "parts": [["text": "Weather in Rome and Oslo?"]]],
                [
                    "role": "model",
                    "parts": [
                        ["text": "Checking."],
                        [
                            "functionCall": ["id": "call_a", "name": "weather", "args": ["city": "Rome", "days": 2]],
                            "thoughtSignature": "skip_thought_signature_validator",
                        ],
                        ["functionCall": ["id": "call_b", "name": "forecast", "args": [:]]],
                    ],
                ],
                [
                    "role": "user",
                    "parts": [
                        ["functionResponse": ["id": "call_b", "name": "forecast", "response": ["result": ["temp": 12, "sky": "rain"]]]],
                        ["functionResponse": ["id": "call_a", "name": "weather", "response": ["result": "sunny"]]],
                        ["text": "Thanks"],
                    ],
                ],
            ]
        )
    }

    @Test func unsignedCallsCanBeSentWithoutAStandInSignature() throws {
        let body = try self.body(Self.toolRoundTrip, dialect: GeminiDialect(unsignedFunctionCallSignature: nil))
        let parts = try #require(body["contents"]?[1]?["parts"]?.arrayValue)
        #expect(parts.count == 3)
        #expect(parts.allSatisfy { $0["thoughtSignature"] == nil })
    }

    @Test func echoedSignaturesStayOnTheirCallsAndNoStandInIsAdded() throws {
        let body = try self.body(
            #"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":["#
                + #"{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}},"#
                + #"{"id":"c2","type":"function","function":{"name":"g","arguments":"{}"},"extra_content":{"google":{"thought_signature":"SIG"}}}]}]}"#
        )
        #expect(body["contents"]?[1]?["parts"]?[0]?["thoughtSignature"] == nil)
        #expect(body["contents"]?[1]?["parts"]?[1]?["thoughtSignature"] == "SIG")
    }

    @Test func toolResultForAnUnknownCallIsRefused() throws {
        let error = try self.failure(
            #"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"call_zz","content":"1"}]}"#
        )
        #expect(error?.param == "messages[1].tool_call_id")
        #expect(error?.code == .invalidRequest)
        #expect(error?.message.contains("call_zz") == true)
    }

    @Test(arguments: [#"{\"city\":"#, #"[1,2]"#, #"\"Rome\""#])
    func argumentsThatAreNotAJSONObjectAreRefused(arguments: String) throws {
        let error = try self.failure(
            #"{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":["#
                + #"{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}},"#
                + #"{"id":"c2","type":"function","function":{"name":"f","arguments":"\#(arguments)"}}]}]}"#
        )
        #expect(error?.param == "messages[1].tool_calls[1].function.arguments")
        #expect(error?.code == .invalidRequest)
    }

    @Test func legacyFunctionRoleAndBuiltInToolsAreRefused() throws {
        let function = try self.failure(#"{"model":"m","messages":[{"role":"function","name":"f","content":"1"}]}"#)
        #expect(function?.param == "messages[0].role")
        #expect(function?.code == .unsupportedFeature)
        let builtIn = try self.failure(
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}},{"type":"web_search"}]}"#
        )
        #expect(builtIn?.param == "tools[1]")
        #expect(builtIn?.code == .unsupportedFeature)
    }

    // MARK: Tools and tool choice

    static let weatherTool =
        #"[{"type":"function","function":{"name":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},"#
        + #"{"type":"function","function":{"name":"now","description":"The time","parameters":{"type":"object","properties":{}}}}]"#

    static let toolChoices: [(String, JSONValue?)] = [
        (#""auto""#, ["functionCallingConfig": ["mode": "AUTO"]]),
        (#""none""#, ["functionCallingConfig": ["mode": "NONE"]]),
        (#""required""#, ["functionCallingConfig": ["mode": "ANY"]]),
        (#"{"type":"function","function":{"name":"weather"}}"#, ["functionCallingConfig": ["mode": "ANY", "allowedFunctionNames": ["weather"]]]),
        ("null", nil),
    ]

    @Test(arguments: Self.toolChoices)
    func toolChoiceBecomesTheFunctionCallingMode(choice: String, expected: JSONValue?) throws {
        let body = try self.body(#"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":\#(Self.weatherTool),"tool_choice":\#(choice)}"#)
        #expect(body["toolConfig"] == expected)
        #expect(
            body["tools"] == [
                [
                    "functionDeclarations": [
                        ["name": "weather", "parameters": ["type": "OBJECT", "properties": ["city": ["type": "STRING"]]]],
                        ["name": "now", "description": "The time"],
                    ]
                ]
            ]
        )
    }

    @Test func toolChoiceWithoutToolsIsDropped() throws {
        let body = try self.body(#"{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"required","parallel_tool_calls":false}"#)
        #expect(body["toolConfig"] == nil)
        #expect(body["tools"] == nil)
    }

    // MARK: Generation config

    @Test func samplingOptionsMapToTheGenerationConfig() throws {
        let body = try self.body(
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":300,"max_tokens":10,"temperature":0.70,"#
                + #""top_p":0.9,"top_k":40,"stop":"END","seed":7,"n":2,"presence_penalty":0.5,"frequency_penalty":0,"user":"u-1","#
                + #""store":true,"metadata":{"a":"b"},"service_tier":"auto","parallel_tool_calls":true,"stream_options":{"include_usage":true}}"#
        )
        let config = try #require(body["generationConfig"])
        #expect(
            config == [
                "maxOutputTokens": 300, "temperature": 0.7, "topP": 0.9, "topK": 40, "stopSequences": ["END"], "seed": 7, "candidateCount": 2,
                "presencePenalty": 0.5,
            ]
        )
        #expect(config.jsonString.contains(#""temperature":0.70"#), "the client's number literal is kept")
        #expect(Set(body.objectValue?.keys ?? []) == ["contents", "generationConfig"], "fields Gemini cannot use are dropped")
    }

    @Test func theModelsOutputLimitIsUsedWhenTheClientSetsNone() throws {
        let request = #"{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b"]}"#
        let body = try self.body(request, target: UpstreamTarget(model: "gemini-2.5-flash", maxOutputTokens: 65_536))
        #expect(body["generationConfig"] == ["maxOutputTokens": 65_536, "stopSequences": ["a", "b"]])
    }

    @Test(arguments: [
        ("none", 0, false), ("minimal", 128, true), ("low", 1024, true), ("medium", 8192, true), ("high", 24_576, true),
    ])
    func reasoningEffortSetsTheThinkingBudget(effort: String, budget: Int, includeThoughts: Bool) throws {
        let body = try self.body(#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"\#(effort)"}"#)
        #expect(body["generationConfig"]?["thinkingConfig"] == ["thinkingBudget": .int(budget), "includeThoughts": .bool(includeThoughts)])
    }

    @Test func unknownReasoningEffortIsRefused() throws {
        let error = try self.failure(#"{"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"max"}"#)
        #expect(error?.param == "reasoning_effort")
        #expect(error?.code == .invalidRequest)
    }

    @Test func jsonObjectAsksForJSON() throws {
        let body = try self.body(#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}"#)
        #expect(body["generationConfig"] == ["responseMimeType": "application/json"])
        let text = try self.body(#"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}}"#)
        #expect(text["generationConfig"] == nil)
    }

    @Test func recordedJSONSchemaBecomesAResponseSchema() throws {
        let request = try ChatRequest(parsing: try Fixture.bytes("openai/chat_request_json_schema.json"))
        let body = try JSONValue.parse(try self.gemini.encodeRequest(request, target: self.target).body)
        #expect(
            body["generationConfig"] == [
                "maxOutputTokens": 4000,
                "responseMimeType": "application/json",
                "responseSchema": [
                    "type": "OBJECT",
                    "properties": [
                        "author": [
                            "type": "OBJECT",
                            "properties": [
                                "name": ["type": "STRING", "description": "Author's name"],
                                "nationality": ["type": "STRING", "description": "Author's nationality"],
                            ],
                            "propertyOrdering": ["name", "nationality"],
                            "required": ["name", "nationality"],
                        ],
                        "genres": ["type": "ARRAY", "description": "List of genres", "items": ["type": "STRING"]],
                        "published_year": ["type": "INTEGER", "description": "Year the book was published"],
                        "title": ["type": "STRING", "description": "The book title"],
                    ],
                    "propertyOrdering": ["author", "genres", "published_year", "title"],
                    "required": ["title", "author", "genres", "published_year"],
                ],
            ]
        )
    }

    @Test(arguments: [
        (#""logprobs":true"#, "logprobs"), (#""top_logprobs":2"#, "top_logprobs"), (#""logit_bias":{"50256":-100}"#, "logit_bias"),
        (#""modalities":["text","audio"]"#, "modalities"), (#""audio":{"voice":"alloy","format":"wav"}"#, "audio"),
        (#""web_search_options":{}"#, "web_search_options"), (#""functions":[{"name":"f"}]"#, "functions"),
    ])
    func fieldsGeminiCannotHonourAreRefused(field: String, param: String) throws {
        let error = try self.failure(#"{"model":"m","messages":[{"role":"user","content":"x"}],\#(field)}"#)
        #expect(error?.param == param)
        #expect(error?.code == .unsupportedFeature)
    }

    @Test func harmlessDefaultsOfThoseFieldsPass() throws {
        let body = try self.body(
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":false,"logit_bias":{},"modalities":["text"],"n":1}"#
        )
        #expect(body["generationConfig"] == nil)
    }
}
