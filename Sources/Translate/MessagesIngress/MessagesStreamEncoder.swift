//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Writes OpenAI `chat.completion.chunk`s as Anthropic's Messages stream events.
///
/// The first chunk opens the message (`message_start`, then `ping`). Content deltas open
/// blocks in order, each closed (`content_block_stop`) when a block of another kind starts:
/// `reasoning_content` → a `thinking` block (`thinking_delta`), `content` → a `text` block
/// (`text_delta`), each tool call → a `tool_use` block (`input_json_delta` per arguments
/// fragment). The finish reason and the usage chunk are held until ``finish(into:)``, which
/// closes the open block and writes `message_delta` (stop reason and usage) and
/// `message_stop`.
public struct MessagesStreamEncoder: Sendable {
    private enum Kind: Equatable {
        case thinking
        case text
        case tool(Int)
    }

    private let fallbackModel: String
    private let fallbackID: String
    private var started = false
    private var open: (index: Int, kind: Kind)?
    private var blockCount = 0
    /// Anthropic block index of each OpenAI tool-call index.
    private var toolBlocks: [Int: Int] = [:]
    private var finishReason: String?
    private var usage: Usage?

    /// - Parameters:
    ///   - model: the model reported when the chunks name none.
    ///   - id: the message id when the chunks carry none.
    public init(model: String, id: String) {
        self.fallbackModel = model
        self.fallbackID = id
    }

    /// Appends the events for one OpenAI chunk (possibly none).
    public mutating func encode(_ chunk: JSONObject, into output: inout [UInt8]) {
        let json = JSONValue.object(chunk)
        if !self.started { self.start(json, into: &output) }
        if let usage = Usage(openAI: json["usage"]) { self.usage = usage }
        for choice in json["choices"]?.arrayValue ?? [] {
            if let reason = choice["finish_reason"]?.stringValue { self.finishReason = reason }
            guard let delta = choice["delta"] else { continue }
            if let text = delta["reasoning_content"]?.stringValue, !text.isEmpty {
                self.write(.thinking, ["type": "thinking_delta", "thinking": .string(text)], into: &output)
            }
            if let text = delta["content"]?.stringValue, !text.isEmpty {
                self.write(.text, ["type": "text_delta", "text": .string(text)], into: &output)
            }
            for call in delta["tool_calls"]?.arrayValue ?? [] {
                self.encodeToolCall(call, into: &output)
            }
        }
    }

    /// Closes the message: the open block, `message_delta` with the stop reason and `usage`
    /// (else the last usage the chunks carried), and `message_stop`.
    public mutating func finish(usage: Usage? = nil, into output: inout [UInt8]) {
        if !self.started { self.start([:], into: &output) }
        self.closeBlock(into: &output)
        let delta: JSONObject = [
            "type": "message_delta",
            "delta": ["stop_reason": .optional(MessagesAnswer.stopReason(self.finishReason ?? "stop")), "stop_sequence": nil],
            "usage": .object(MessagesAnswer.usage(usage ?? self.usage)),
        ]
        Self.appendEvent("message_delta", delta, to: &output)
        Self.appendEvent("message_stop", ["type": "message_stop"], to: &output)
    }

    /// Appends `event: <name>` with `payload` as its data.
    public static func appendEvent(_ name: String, _ payload: JSONObject, to output: inout [UInt8]) {
        output.append(contentsOf: "event: \(name)\ndata: ".utf8)
        payload.write(to: &output)
        output.append(contentsOf: "\n\n".utf8)
    }

    // MARK: Blocks

    private mutating func start(_ chunk: JSONValue, into output: inout [UInt8]) {
        self.started = true
        let message: JSONObject = [
            "id": .string(chunk["id"]?.stringValue ?? self.fallbackID),
            "type": "message",
            "role": "assistant",
            "model": .string(chunk["model"]?.stringValue ?? self.fallbackModel),
            "content": [],
            "stop_reason": nil,
            "stop_sequence": nil,
            "usage": .object(MessagesAnswer.usage(nil)),
        ]
        Self.appendEvent("message_start", ["type": "message_start", "message": .object(message)], to: &output)
        Self.appendEvent("ping", ["type": "ping"], to: &output)
    }

    private mutating func encodeToolCall(_ call: JSONValue, into output: inout [UInt8]) {
        let callIndex = call["index"]?.intValue ?? 0
        if self.toolBlocks[callIndex] == nil {
            let block = MessagesAnswer.toolUse(id: call["id"]?.stringValue, name: call["function"]?["name"]?.stringValue, arguments: "{}")
            self.openBlock(.tool(callIndex), block, into: &output)
            self.toolBlocks[callIndex] = self.open?.index
        }
        guard let fragment = call["function"]?["arguments"]?.stringValue, !fragment.isEmpty, let index = self.toolBlocks[callIndex] else { return }
        Self.appendDelta(index: index, ["type": "input_json_delta", "partial_json": .string(fragment)], to: &output)
    }

    /// Writes `delta` into the open block of `kind`, opening one first when needed.
    private mutating func write(_ kind: Kind, _ delta: JSONObject, into output: inout [UInt8]) {
        if self.open?.kind != kind {
            let block: JSONValue =
                kind == .thinking ? ["type": "thinking", "thinking": "", "signature": ""] : ["type": "text", "text": ""]
            self.openBlock(kind, block, into: &output)
        }
        Self.appendDelta(index: self.open?.index ?? 0, delta, to: &output)
    }

    private mutating func openBlock(_ kind: Kind, _ block: JSONValue, into output: inout [UInt8]) {
        self.closeBlock(into: &output)
        let index = self.blockCount
        self.blockCount += 1
        self.open = (index, kind)
        Self.appendEvent("content_block_start", ["type": "content_block_start", "index": .int(index), "content_block": block], to: &output)
    }

    private mutating func closeBlock(into output: inout [UInt8]) {
        guard let open = self.open else { return }
        self.open = nil
        Self.appendEvent("content_block_stop", ["type": "content_block_stop", "index": .int(open.index)], to: &output)
    }

    private static func appendDelta(index: Int, _ delta: JSONObject, to output: inout [UInt8]) {
        Self.appendEvent("content_block_delta", ["type": "content_block_delta", "index": .int(index), "delta": .object(delta)], to: &output)
    }
}
