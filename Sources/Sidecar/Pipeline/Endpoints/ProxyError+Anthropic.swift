//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Translate

extension ProxyError {
    /// The status on Anthropic's API: 529 when the sidecar or the provider is overloaded
    /// (`too_many_streams`, `buffer_budget_exhausted`, `circuit_open`, `all_candidates_failed`,
    /// a provider's overload), else the status of the OpenAI envelope.
    var anthropicStatus: Int {
        switch self.code {
        case .tooManyStreams, .bufferBudgetExhausted, .circuitOpen, .allCandidatesFailed: return 529
        case .upstreamError where self.upstreamFailure?.kind == .overloaded: return 529
        default: return self.status
        }
    }

    /// The error in Anthropic's shape, its type following ``anthropicStatus``. Anthropic's shape
    /// has no `param`, so the message names the field the way Anthropic's own do:
    /// `max_tokens: Field required`.
    var anthropicBody: AnthropicErrorBody {
        var message = self.message
        if let param = self.param, !message.hasPrefix(param + ":") { message = "\(param): \(message)" }
        return AnthropicErrorBody(type: AnthropicErrorBody.type(forStatus: self.anthropicStatus), message: message)
    }
}
