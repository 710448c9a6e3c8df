//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Reads `streamGenerateContent?alt=sse`: every `data:` event is a whole
/// `GenerateContentResponse` holding only the new parts, with running `usageMetadata`, and
/// nothing marks the end — the body just ends after the chunk that carries `finishReason`.
///
/// Each part becomes one chunk (text → `content`, thought → `reasoning_content`, function call
/// → a whole tool-call delta with a minted id). The finish chunks, the usage chunk and
/// ``StreamItem/end`` are emitted by ``finish()``, when nothing more can arrive, so a function
/// call in any chunk turns `STOP` into `tool_calls`.
struct GeminiStreamTranslator: StreamTranslator {
    private struct Candidate {
        var toolCalls = 0
        var finishReason: String?
    }

    private enum Phase {
        case streaming
        case failed
        case ended
    }

    private let decoder: GeminiResponseDecoder
    private var builder: ChatCompletionBuilder?
    private var candidates: [Int: Candidate] = [:]
    private var blocked = false
    private var usage: Usage?
    private var phase = Phase.streaming

    init(context: ResponseContext, fallbackModel: String) {
        self.decoder = GeminiResponseDecoder(context: context, fallbackModel: fallbackModel)
    }

    mutating func translate(_ event: SSEEvent) throws(TranslationError) -> [StreamItem] {
        guard self.phase == .streaming else { return [] }
        guard let object = (try? JSONValue.parse(event.data))?.objectValue else {
            throw TranslationError(.streamProtocolViolation, "The provider sent a stream event that is not a JSON object.")
        }
        if let error = object["error"], error.objectValue != nil {
            self.phase = .failed
            return [.failure(GeminiDialect.failure(fromErrorObject: error, status: nil))]
        }
        let builder = self.builder ?? self.decoder.builder(for: object)
        self.builder = builder
        if let usage = GeminiResponseDecoder.usage(object["usageMetadata"]) { self.usage = usage }
        if GeminiResponseDecoder.blockReason(in: object) != nil { self.blocked = true }
        var items: [StreamItem] = []
        for (position, candidateJSON) in (object["candidates"]?.arrayValue ?? []).enumerated() {
            let index = candidateJSON["index"]?.intValue ?? position
            if self.candidates[index] == nil {
                items.append(.chunk(builder.chunk(delta: ["role": "assistant", "content": ""], choice: index)))
            }
            var candidate = self.candidates[index] ?? Candidate()
            for piece in try GeminiResponseDecoder.pieces(of: candidateJSON) {
                let delta: JSONObject
                switch piece {
                case .text(let text): delta = ["content": .string(text)]
                case .reasoning(let text): delta = ["reasoning_content": .string(text)]
                case .call(let name, let arguments, let id, let signature):
                    let id = id ?? GeminiDialect.toolCallID(context: self.decoder.context, candidate: index, ordinal: candidate.toolCalls)
                    var callDelta = ChatCompletionBuilder.toolCallDelta(index: candidate.toolCalls, id: id, name: name, arguments: arguments)
                    if let extra = GeminiResponseDecoder.extraContent(signature: signature), case .array(var calls)? = callDelta["tool_calls"] {
                        calls[0]["extra_content"] = extra
                        callDelta["tool_calls"] = .array(calls)
                    }
                    delta = callDelta
                    candidate.toolCalls += 1
                }
                items.append(.chunk(builder.chunk(delta: delta, choice: index)))
            }
            if let reason = candidateJSON["finishReason"]?.stringValue { candidate.finishReason = reason }
            self.candidates[index] = candidate
        }
        return items
    }

    mutating func finish() throws(TranslationError) -> [StreamItem] {
        guard self.phase == .streaming else { return [] }
        guard self.blocked || self.candidates.values.contains(where: { $0.finishReason != nil }), let builder = self.builder else {
            throw TranslationError(.streamProtocolViolation, "The provider closed the stream before the answer finished.")
        }
        self.phase = .ended
        var items: [StreamItem] = []
        if self.candidates.isEmpty {
            items.append(.chunk(builder.chunk(delta: ["role": "assistant", "content": ""])))
            items.append(.chunk(builder.chunk(delta: [:], finishReason: "content_filter")))
        }
        for (index, candidate) in self.candidates.sorted(by: { $0.key < $1.key }) {
            let reason = GeminiResponseDecoder.finishReason(candidate.finishReason, hasToolCalls: candidate.toolCalls > 0, blocked: self.blocked)
            items.append(.chunk(builder.chunk(delta: [:], finishReason: reason, choice: index)))
        }
        if let usage = self.usage { items.append(.chunk(builder.usageChunk(usage))) }
        items.append(.end)
        return items
    }
}
