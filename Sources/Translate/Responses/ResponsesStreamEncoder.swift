//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Writes a stream of chat chunks as Responses API events, each an SSE with its `event:` type
/// and a `sequence_number` counting from 0:
///
/// `response.created`, `response.in_progress`; for reasoning text `response.output_item.added`,
/// `response.reasoning_summary_part.added`, `response.reasoning_summary_text.delta`…; for text
/// `response.output_item.added`, `response.content_part.added`, `response.output_text.delta`…;
/// for each tool call `response.output_item.added`, `response.function_call_arguments.delta`…;
/// each item closed by its `.done` events and `response.output_item.done` when the next begins or
/// the stream ends; then `response.completed` (or `response.incomplete`) with the whole response
/// and its usage. A broken stream ends with `error` and `response.failed`.
public struct ResponsesStreamEncoder: ChatStreamEncoder {
    public private(set) var summary = StreamSummary()
    private let builder: ResponseBuilder
    private var sequence = 0
    private var started = false
    /// Finished output items, in order.
    private var output: [JSONObject] = []
    private var open: OpenItem?
    /// Tool calls by their chat `index`, in the order they began.
    private var calls: [(index: Int, item: Int)] = []

    private enum OpenItem {
        case reasoning(index: Int, text: String)
        case message(index: Int, text: String)
        case call(index: Int, callID: String, name: String, arguments: String, extra: JSONValue?)
    }

    /// - Parameter builder: the response being streamed.
    public init(builder: ResponseBuilder) {
        self.builder = builder
        self.summary.responseID = builder.id
    }

    /// The whole `response` of a stream that completed, as its last event carried it.
    public private(set) var finalResponse: JSONObject?

    public mutating func encode(_ chunk: StreamChunk, into output: inout [UInt8]) {
        self.summary.observe(chunk.object)
        self.summary.chunkCount += 1
        self.start(into: &output)
        guard let delta = chunk.object["choices"]?.arrayValue?.first?["delta"] else { return }
        if let text = delta["reasoning_content"]?.stringValue, !text.isEmpty { self.reason(text, into: &output) }
        if let text = delta["content"]?.stringValue, !text.isEmpty { self.say(text, into: &output) }
        for call in delta["tool_calls"]?.arrayValue ?? [] { self.call(call, into: &output) }
    }

    public mutating func markCompleted() {
        self.summary.completed = true
    }

    public mutating func finish(usage: Usage?, extraUsageFields: JSONObject, into output: inout [UInt8]) {
        self.start(into: &output)
        self.close(into: &output)
        let response = self.builder.response(
            model: self.summary.responseModel,
            output: self.output,
            usage: usage,
            usageExtras: extraUsageFields,
            finishReason: self.summary.finishReasons.first
        )
        self.finalResponse = response
        let type = response["status"]?.stringValue == "incomplete" ? "response.incomplete" : "response.completed"
        self.emit(type, ["response": .object(response)], into: &output)
    }

    public func appendFailure(_ error: OpenAIErrorBody, to output: inout [UInt8]) {
        var copy = self
        copy.start(into: &output)
        let code = error.code ?? error.type
        copy.emit("error", ["code": .string(code), "message": .string(error.message), "param": .optional(error.param)], into: &output)
        let failure: JSONObject = ["code": .string(code), "message": .string(error.message)]
        let response = copy.builder.response(
            model: copy.summary.responseModel,
            output: copy.output,
            usage: nil,
            finishReason: nil,
            error: failure
        )
        copy.emit("response.failed", ["response": .object(response)], into: &output)
    }

    private mutating func start(into output: inout [UInt8]) {
        guard !self.started else { return }
        self.started = true
        let response = self.builder.response(model: nil, output: [], usage: nil, finishReason: nil, inProgress: true)
        self.emit("response.created", ["response": .object(response)], into: &output)
        self.emit("response.in_progress", ["response": .object(response)], into: &output)
    }

    private mutating func reason(_ text: String, into output: inout [UInt8]) {
        if case .reasoning(let index, let sofar) = self.open {
            self.open = .reasoning(index: index, text: sofar + text)
        } else {
            self.close(into: &output)
            let index = self.output.count
            self.open = .reasoning(index: index, text: text)
            self.emit("response.output_item.added", self.itemEvent(index, self.builder.reasoningItem(index: index, text: nil)), into: &output)
            self.emit("response.reasoning_summary_part.added", self.summaryPart(index, text: ""), into: &output)
        }
        var event = self.itemReference(self.builder.itemID("rs", self.output.count))
        event["summary_index"] = 0
        event["delta"] = .string(text)
        self.emit("response.reasoning_summary_text.delta", event, into: &output)
    }

    private mutating func say(_ text: String, into output: inout [UInt8]) {
        if case .message(let index, let sofar) = self.open {
            self.open = .message(index: index, text: sofar + text)
        } else {
            self.close(into: &output)
            let index = self.output.count
            self.open = .message(index: index, text: text)
            self.emit(
                "response.output_item.added",
                self.itemEvent(index, self.builder.messageItem(index: index, text: nil, status: "in_progress")),
                into: &output
            )
            self.emit("response.content_part.added", self.contentPart(index, text: ""), into: &output)
        }
        var event = self.itemReference(self.builder.itemID("msg", self.output.count))
        event["content_index"] = 0
        event["delta"] = .string(text)
        event["logprobs"] = []
        self.emit("response.output_text.delta", event, into: &output)
    }

    private mutating func call(_ call: JSONValue, into output: inout [UInt8]) {
        let chatIndex = call["index"]?.intValue ?? 0
        let arguments = call["function"]?["arguments"]?.stringValue ?? ""
        if case .call(let index, let callID, let name, let sofar, let extra) = self.open, self.calls.last?.index == chatIndex {
            self.open = .call(index: index, callID: callID, name: name, arguments: sofar + arguments, extra: call["extra_content"] ?? extra)
        } else {
            self.close(into: &output)
            let index = self.output.count
            let callID = call["id"]?.stringValue ?? self.builder.itemID("call", index)
            let name = call["function"]?["name"]?.stringValue ?? ""
            self.calls.append((chatIndex, index))
            self.open = .call(index: index, callID: callID, name: name, arguments: arguments, extra: call["extra_content"])
            let item = self.builder.functionCallItem(index: index, callID: callID, name: name, arguments: "", status: "in_progress")
            self.emit("response.output_item.added", self.itemEvent(index, item), into: &output)
        }
        guard !arguments.isEmpty else { return }
        var event = self.itemReference(self.builder.itemID("fc", self.output.count))
        event["delta"] = .string(arguments)
        self.emit("response.function_call_arguments.delta", event, into: &output)
    }

    /// Ends the open item with its `.done` events.
    private mutating func close(into output: inout [UInt8]) {
        guard let open = self.open else { return }
        self.open = nil
        let item: JSONObject
        switch open {
        case .reasoning(let index, let text):
            var done = self.itemReference(self.builder.itemID("rs", index))
            done["summary_index"] = 0
            done["text"] = .string(text)
            self.emit("response.reasoning_summary_text.done", done, into: &output)
            self.emit("response.reasoning_summary_part.done", self.summaryPart(index, text: text), into: &output)
            item = self.builder.reasoningItem(index: index, text: text)
        case .message(let index, let text):
            var done = self.itemReference(self.builder.itemID("msg", index))
            done["content_index"] = 0
            done["text"] = .string(text)
            done["logprobs"] = []
            self.emit("response.output_text.done", done, into: &output)
            self.emit("response.content_part.done", self.contentPart(index, text: text), into: &output)
            item = self.builder.messageItem(index: index, text: text, status: "completed")
        case .call(let index, let callID, let name, let arguments, let extra):
            var done = self.itemReference(self.builder.itemID("fc", index))
            done["name"] = .string(name)
            done["arguments"] = .string(arguments)
            self.emit("response.function_call_arguments.done", done, into: &output)
            var call = self.builder.functionCallItem(index: index, callID: callID, name: name, arguments: arguments, status: "completed")
            call["extra_content"] = extra
            item = call
        }
        self.emit("response.output_item.done", self.itemEvent(self.output.count, item), into: &output)
        self.output.append(item)
    }

    private func itemEvent(_ index: Int, _ item: JSONObject) -> JSONObject {
        ["output_index": .int(index), "item": .object(item)]
    }

    private func itemReference(_ id: String) -> JSONObject {
        ["item_id": .string(id), "output_index": .int(self.output.count)]
    }

    private func summaryPart(_ index: Int, text: String) -> JSONObject {
        var event = self.itemReference(self.builder.itemID("rs", index))
        event["summary_index"] = 0
        event["part"] = ["type": "summary_text", "text": .string(text)]
        return event
    }

    private func contentPart(_ index: Int, text: String) -> JSONObject {
        var event = self.itemReference(self.builder.itemID("msg", index))
        event["content_index"] = 0
        event["part"] = .object(ResponseBuilder.textPart(text))
        return event
    }

    /// Appends `event: <type>` and its data with `type` and the next `sequence_number`.
    private mutating func emit(_ type: String, _ fields: JSONObject, into output: inout [UInt8]) {
        var event: JSONObject = ["type": .string(type)]
        for member in fields { event[member.key] = member.value }
        event["sequence_number"] = .int(self.sequence)
        self.sequence += 1
        output.append(contentsOf: "event: \(type)\n".utf8)
        SSEEncoder.appendEvent(event.serialized(), to: &output)
    }
}
