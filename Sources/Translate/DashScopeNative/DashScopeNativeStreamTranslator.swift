//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Reads a native DashScope stream: `id:N`, `event:result`, a `:HTTP_STATUS/200` comment and
/// `data:{…}` per event, no `[DONE]`. Every event carries the cumulative `usage` and
/// `finish_reason: "null"` until the last, whose real finish reason ends the stream; an
/// `event:error` (or a body with `code` and no `output`) is a provider error.
struct DashScopeNativeStreamTranslator: StreamTranslator {
    private struct Choice {
        var tracker = DashScopeDeltaTracker()
        /// The OpenAI index of each provider tool-call index, in order of appearance.
        var toolOrdinals: [Int: Int] = [:]
        var finished = false
    }

    private enum Phase {
        case streaming
        case failed
        case ended
    }

    private let decoder: DashScopeNativeResponseDecoder
    private var builder: ChatCompletionBuilder?
    private var choices: [Int: Choice] = [:]
    private var usage: Usage?
    private var phase = Phase.streaming

    init(decoder: DashScopeNativeResponseDecoder) {
        self.decoder = decoder
    }

    mutating func translate(_ event: SSEEvent) throws(TranslationError) -> [StreamItem] {
        guard self.phase == .streaming else { return [] }
        let object = (try? JSONValue.parse(event.data))?.objectValue
        if event.event == "error" || (object?["output"] == nil && !(object?["code"]?.stringValue ?? "").isEmpty) {
            self.phase = .failed
            return [.failure(DashScopeNativeDialect.failure(from: object ?? [:], status: nil))]
        }
        guard let object else {
            throw TranslationError(.streamProtocolViolation, "The provider sent a stream event that is not a JSON object.")
        }
        let choicesJSON: [JSONValue]
        do {
            choicesJSON = try DashScopeNativeResponseDecoder.choices(in: object)
        } catch {
            throw TranslationError(.streamProtocolViolation, "The provider sent a stream event without 'output.choices'.")
        }
        let builder = self.builder ?? self.decoder.builder(for: object)
        self.builder = builder
        if let usage = DashScopeNativeResponseDecoder.usage(object["usage"]) { self.usage = usage }
        var items: [StreamItem] = []
        for (position, choiceJSON) in choicesJSON.enumerated() {
            let index = choiceJSON["index"]?.intValue ?? position
            if self.choices[index] == nil {
                items.append(.chunk(builder.chunk(delta: ["role": "assistant", "content": ""], choice: index)))
            }
            var choice = self.choices[index] ?? Choice()
            guard !choice.finished else { continue }
            let finishReason = DashScopeNativeResponseDecoder.rawFinishReason(of: choiceJSON)
            let message: DashScopeNativeResponseDecoder.Message
            do {
                message = try DashScopeNativeResponseDecoder.message(in: choiceJSON)
            } catch {
                throw TranslationError(.streamProtocolViolation, error.message)
            }
            for delta in choice.tracker.deltas(for: message, isFinal: finishReason != nil) {
                items.append(contentsOf: self.chunks(for: delta, choice: &choice, index: index, builder: builder))
            }
            if let finishReason {
                choice.finished = true
                let reason = DashScopeNativeResponseDecoder.finishReason(finishReason, hasToolCalls: !choice.toolOrdinals.isEmpty)
                items.append(.chunk(builder.chunk(delta: [:], finishReason: reason, choice: index)))
            }
            self.choices[index] = choice
        }
        if !self.choices.isEmpty, self.choices.values.allSatisfy(\.finished) {
            self.phase = .ended
            if let usage = self.usage { items.append(.chunk(builder.usageChunk(usage))) }
            items.append(.end)
        }
        return items
    }

    mutating func finish() throws(TranslationError) -> [StreamItem] {
        guard self.phase == .streaming else { return [] }
        throw TranslationError(.streamProtocolViolation, "The provider closed the stream before the answer finished.")
    }

    private func chunks(
        for delta: DashScopeNativeResponseDecoder.Message,
        choice: inout Choice,
        index: Int,
        builder: ChatCompletionBuilder
    ) -> [StreamItem] {
        var items: [StreamItem] = []
        if !delta.reasoning.isEmpty {
            items.append(.chunk(builder.chunk(delta: ["reasoning_content": .string(delta.reasoning)], choice: index)))
        }
        if !delta.content.isEmpty {
            items.append(.chunk(builder.chunk(delta: ["content": .string(delta.content)], choice: index)))
        }
        for call in delta.calls {
            if let ordinal = choice.toolOrdinals[call.index] {
                guard !call.arguments.isEmpty else { continue }
                let toolDelta = ChatCompletionBuilder.toolCallDelta(index: ordinal, id: nil, name: nil, arguments: call.arguments)
                items.append(.chunk(builder.chunk(delta: toolDelta, choice: index)))
            } else {
                let ordinal = choice.toolOrdinals.count
                choice.toolOrdinals[call.index] = ordinal
                let id = call.id ?? self.decoder.toolCallID(choice: index, ordinal: ordinal)
                let toolDelta = ChatCompletionBuilder.toolCallDelta(index: ordinal, id: id, name: call.name ?? "", arguments: call.arguments)
                items.append(.chunk(builder.chunk(delta: toolDelta, choice: index)))
            }
        }
        return items
    }
}
