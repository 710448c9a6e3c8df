//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing
import Translate

@testable import Sidecar

@Suite struct PriceTests {
    static func price(_ input: String, cached: String? = nil, output: String, reasoning: String? = nil, currency: Price.Currency = .usd) -> Price {
        Price(
            input: Decimal(string: input)!,
            cachedInput: cached.flatMap { Decimal(string: $0) },
            cacheWrite: nil,
            output: Decimal(string: output)!,
            reasoning: reasoning.flatMap { Decimal(string: $0) },
            currency: currency
        )
    }

    @Test func cachedTokensArePricedApartFromThePrompt() {
        // DeepSeek: 1,000 prompt tokens of which 600 cached, 200 output.
        let cost = Self.price("0.28", cached: "0.028", output: "0.42").cost(of: Usage(inputTokens: 1000, outputTokens: 200, cachedInputTokens: 600))
        // 400 × 0.28 + 600 × 0.028 + 200 × 0.42 = 112 + 16.8 + 84 = 212.8 per million.
        #expect(cost == Decimal(string: "0.0002128"))
    }

    @Test func reasoningTokensUseTheirOwnPriceWhenGiven() {
        let usage = Usage(inputTokens: 100, outputTokens: 1000, reasoningTokens: 800)
        // qwen-turbo in CNY: 100 × 0.3 + 200 × 0.6 + 800 × 3.0 = 30 + 120 + 2400 = 2550 per million.
        #expect(Self.price("0.3", output: "0.6", reasoning: "3.0", currency: .cny).cost(of: usage) == Decimal(string: "0.00255"))
        // Without a reasoning price, reasoning is output (OpenAI o-series).
        #expect(Self.price("1.1", output: "4.4").cost(of: usage) == Decimal(string: "0.00451"))
    }

    @Test func cachedPriceFallsBackToInput() {
        let cost = Self.price("2", output: "8").cost(of: Usage(inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 500_000))
        #expect(cost == 2)
    }

    @Test func decimalArithmeticIsExact() {
        let price = Self.price("0.1", output: "0.2")
        var total = Decimal(0)
        for _ in 0..<1000 { total += price.cost(of: Usage(inputTokens: 10, outputTokens: 10)) }
        #expect(total == Decimal(string: "0.003"))
    }

    @Test func usageLinesPrintCostsAsPlainDecimals() {
        #expect(UsageRecord.decimalJSON(Decimal(string: "0.0002128")!).jsonString == "0.0002128")
        #expect(UsageRecord.decimalJSON(Decimal(string: "0.000000000012345")!).jsonString == "0")
        #expect(UsageRecord.decimalJSON(Decimal(12)).jsonString == "12")
    }
}
