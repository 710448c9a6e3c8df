//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Estimates prompt tokens of a request with OpenAI's message-overhead rules:
/// 3 tokens per message, 1 more when it has a `name`, 3 to prime the reply, plus the
/// ``TextTally`` estimate of every text, tool-call argument and tool definition.
/// An image counts 85 tokens (OpenAI's low-detail cost).
public enum TokenEstimator {
    public static let tokensPerMessage = 3
    public static let tokensPerName = 1
    public static let replyPriming = 3
    public static let tokensPerImage = 85

    public static func estimatePromptTokens(_ request: ChatRequest) -> Int {
        var tally = TextTally()
        var overhead = Self.replyPriming
        for message in request.messages {
            overhead += Self.tokensPerMessage + (message.name == nil ? 0 : Self.tokensPerName)
            switch message.content {
            case .none: break
            case .text(let text): tally.add(text)
            case .parts(let parts):
                for part in parts {
                    switch part {
                    case .text(let text): tally.add(text)
                    case .imageURL: overhead += Self.tokensPerImage
                    case .other: break
                    }
                }
            }
            for call in message.toolCalls {
                tally.add(call.name)
                tally.add(call.arguments)
            }
        }
        for tool in request.tools {
            tally.add(tool.name)
            tally.add(tool.description ?? "")
            tally.add(tool.parameters.map { $0.jsonString } ?? "")
        }
        return overhead + tally.estimatedTokens
    }
}
