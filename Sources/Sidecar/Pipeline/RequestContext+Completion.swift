//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Translate

extension RequestContext {
    /// Decodes a whole chat answer of `route`'s dialect to `chat`, and records what it says about
    /// itself and its bill (the provider's usage, else an estimate from the prompt and the text).
    mutating func decodeCompletion(_ bytes: [UInt8], of chat: ChatRequest, from route: RouteCandidate) throws(ProxyError) -> ChatResponse {
        let completion: ChatResponse
        do {
            completion = try route.provider.dialect.decodeResponse(bytes, for: chat, context: ResponseContext.fresh(model: route.upstreamModel))
        } catch {
            throw ProxyError(error)
        }
        self.answer = AnswerSummary(
            responseModel: completion.responseModel,
            responseID: completion.responseID,
            finishReasons: completion.finishReasons
        )
        self.billing = Billing(route: route, providerUsage: completion.usage) {
            TextTally(completion.text ?? "").estimatedTokens
        } promptEstimate: {
            TokenEstimator.estimatePromptTokens(chat)
        }
        return completion
    }
}
