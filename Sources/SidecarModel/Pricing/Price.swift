//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import Translate

/// A model's prices, configured per million tokens and kept as exact ``Money`` per token.
///
/// Cached input, cache writes and reasoning output fall back to the plain input/output price
/// when not given. A price per million with up to 6 decimals (`0.075`) is exact per token.
package struct Price: Sendable, Hashable {
    package enum Currency: String, Sendable, Hashable, CaseIterable {
        case usd = "USD"
        case cny = "CNY"
    }

    /// Per token.
    package var input: Money
    package var cachedInput: Money?
    package var cacheWrite: Money?
    package var output: Money
    package var reasoning: Money?
    package var currency: Currency

    /// Reads a price per million tokens (`"0.28"`) as money per token; `nil` when it is not a
    /// non-negative number with at most 6 decimals.
    package static func perToken(fromPerMillion text: String) -> Money? {
        Money(parsing: text, scale: Money.picosPerUnit / 1_000_000)
    }

    /// The cost of `usage`: cached and cache-write tokens are carved out of the input tokens,
    /// reasoning tokens out of the output tokens, each at its own price.
    /// A count below zero (a provider's bug) costs nothing, so a cost is never a credit.
    package func cost(of usage: Usage) -> Money {
        let (input, output) = (max(0, usage.inputTokens), max(0, usage.outputTokens))
        let (cached, cacheWrite, reasoning) = (max(0, usage.cachedInputTokens), max(0, usage.cacheCreationInputTokens), max(0, usage.reasoningTokens))
        let plainInput = max(0, input - cached - cacheWrite)
        let plainOutput = max(0, output - reasoning)
        return self.input.times(plainInput) + (self.cachedInput ?? self.input).times(cached)
            + (self.cacheWrite ?? self.input).times(cacheWrite) + self.output.times(plainOutput)
            + (self.reasoning ?? self.output).times(reasoning)
    }
}
