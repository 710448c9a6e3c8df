//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Translate

/// A model's prices per million tokens, in one currency.
///
/// Cached input, cache writes and reasoning output fall back to the plain input/output price
/// when not given. Amounts are `Decimal`, so `0.28` is exactly 0.28 and sums stay exact.
struct Price: Sendable, Hashable {
    enum Currency: String, Sendable, Hashable, CaseIterable {
        case usd = "USD"
        case cny = "CNY"
    }

    var input: Decimal
    var cachedInput: Decimal?
    var cacheWrite: Decimal?
    var output: Decimal
    var reasoning: Decimal?
    var currency: Currency

    /// The cost of `usage`: cached and cache-write tokens are carved out of the input tokens,
    /// reasoning tokens out of the output tokens, each at its own price.
    func cost(of usage: Usage) -> Decimal {
        let cached = Decimal(usage.cachedInputTokens)
        let written = Decimal(usage.cacheCreationInputTokens)
        let plainInput = Decimal(max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheCreationInputTokens))
        let reasoning = Decimal(usage.reasoningTokens)
        let plainOutput = Decimal(max(0, usage.outputTokens - usage.reasoningTokens))
        let perMillion =
            plainInput * self.input + cached * (self.cachedInput ?? self.input) + written * (self.cacheWrite ?? self.input)
            + plainOutput * self.output + reasoning * (self.reasoning ?? self.output)
        return perMillion / 1_000_000
    }
}
