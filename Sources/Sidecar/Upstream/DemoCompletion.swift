//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import SidecarModel
import Translate

/// The demo model's answer to one chat request, as an OpenAI response or stream: `choices`
/// identical choices (the request's `n`).
struct DemoCompletion {
    let id: String
    let model: String
    let created = Int(Date().timeIntervalSince1970)
    let words: [String]
    let choices: Int
    let usage: Usage

    init(request: ChatRequest, choices: Int = 1) {
        let said = request.messages.last { $0.role == .user }?.content.text ?? ""
        let reply =
            "Hello from the LLM Sidecar demo model (offline, no provider key needed). You said: \(said.isEmpty ? "nothing" : said)"
        self.id = FastRandom.identifier("chatcmpl-demo-", digits: 8)
        self.model = request.model
        // Split after each space so the pieces concatenate back to the reply exactly.
        var words: [String] = []
        var current = ""
        for character in reply {
            current.append(character)
            if character == " " {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        self.words = words
        self.choices = choices
        self.usage = Usage(
            inputTokens: TokenEstimator.estimatePromptTokens(request),
            outputTokens: TextTally(reply).estimatedTokens * choices
        )
    }

    var response: JSONObject {
        [
            "id": .string(self.id), "object": "chat.completion", "created": .int(self.created), "model": .string(self.model),
            "choices": .array(
                (0..<self.choices).map { index in
                    [
                        "index": .int(index), "message": ["role": "assistant", "content": .string(self.words.joined()), "refusal": nil],
                        "logprobs": nil, "finish_reason": "stop",
                    ]
                }
            ),
            "usage": .object(self.usage.openAIJSON),
        ]
    }

    /// One SSE event per word, in OpenAI's framing; the usage chunk only when asked for.
    func streamEvents(includeUsage: Bool) -> [[UInt8]] {
        var deltas: [(JSONObject, JSONValue)] = [(["role": "assistant", "content": ""], nil)]
        deltas += self.words.map { (["content": .string($0)], nil) }
        deltas.append(([:], "stop"))
        var events = deltas.map { delta, finishReason in
            self.event(
                choices: (0..<self.choices).map { ["index": .int($0), "delta": .object(delta), "logprobs": nil, "finish_reason": finishReason] },
                usage: nil
            )
        }
        if includeUsage { events.append(self.event(choices: [], usage: .object(self.usage.openAIJSON))) }
        events.append(SSEEncoder.doneEvent)
        return events
    }

    private func event(choices: [JSONValue], usage: JSONValue) -> [UInt8] {
        let chunk: JSONObject = [
            "id": .string(self.id), "object": "chat.completion.chunk", "created": .int(self.created), "model": .string(self.model),
            "choices": .array(choices), "usage": usage,
        ]
        var bytes: [UInt8] = []
        SSEEncoder.appendEvent(chunk.serialized(), to: &bytes)
        return bytes
    }
}
