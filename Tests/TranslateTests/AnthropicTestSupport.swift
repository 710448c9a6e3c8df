//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// Shared values and helpers of the Anthropic dialect tests.
enum AnthropicTest {
    static let dialect = AnthropicDialect()
    static let model = "claude-sonnet-4-20250514"
    static let target = UpstreamTarget(model: model)

    /// The `weather` function of the recorded OpenAI and Anthropic tool requests.
    static let weatherTool = #"""
        {"type":"function","function":{"name":"weather","strict":false,"description":"Get weather information for a location",
        "parameters":{"properties":{"location":{"description":"the city","type":"string"}},"required":["location"],"type":"object"}}}
        """#

    /// The Anthropic body `dialect` builds for the OpenAI request `json`.
    static func body(_ json: String, dialect: AnthropicDialect = dialect, target: UpstreamTarget = target) throws -> JSONValue {
        try JSONValue.parse(try dialect.encodeRequest(try chatRequest(json), target: target).body)
    }

    /// The body for a request of `messages` (a JSON array) plus `extra` top-level members.
    static func body(messages: String, _ extra: String = "", target: UpstreamTarget = target) throws -> JSONValue {
        try self.body(self.request(messages: messages, extra), target: target)
    }

    static func request(messages: String, _ extra: String = "") -> String {
        #"{"model":"claude","messages":\#(messages)\#(extra.isEmpty ? "" : ",")\#(extra)}"#
    }

    static let userHello = #"[{"role":"user","content":"Hello"}]"#

    /// An Anthropic event stream of `(event name, data)` pairs.
    static func sse(_ events: [(String, String)]) -> [UInt8] {
        Array(events.map { "event: \($0.0)\ndata: \($0.1)\n\n" }.joined().utf8)
    }

    static func messageStart(id: String = "msg_1", usage: String = #"{"input_tokens":10,"output_tokens":1}"#) -> (String, String) {
        (
            "message_start",
            #"{"type":"message_start","message":{"id":"\#(id)","type":"message","role":"assistant","content":[],"model":"claude-test","#
                + #""stop_reason":null,"stop_sequence":null,"usage":\#(usage)}}"#
        )
    }

    static func blockStart(_ index: Int, _ block: String) -> (String, String) {
        ("content_block_start", #"{"type":"content_block_start","index":\#(index),"content_block":\#(block)}"#)
    }

    static func blockDelta(_ index: Int, _ delta: String) -> (String, String) {
        ("content_block_delta", #"{"type":"content_block_delta","index":\#(index),"delta":\#(delta)}"#)
    }

    static func blockStop(_ index: Int) -> (String, String) {
        ("content_block_stop", #"{"type":"content_block_stop","index":\#(index)}"#)
    }

    static func messageDelta(_ stopReason: String, usage: String = #"{"output_tokens":7}"#) -> (String, String) {
        ("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"\#(stopReason)","stop_sequence":null},"usage":\#(usage)}"#)
    }

    static let messageStop = ("message_stop", #"{"type":"message_stop"}"#)
}
