//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Default prices compiled into the sidecar, per million tokens, for the provider models of
/// the shipped `sidecar.yaml`: used when neither `sidecar.yaml` nor the community catalog
/// prices a model. Looked up by vendor (from the deployment's dialect) and provider model name.
///
/// `effective` is the first UTC day the price is known to apply: the provider's change date
/// where it is documented, otherwise a conservative later day (noted), so usage from before it
/// is unpriced (`null`) rather than priced wrongly. DashScope prices are Alibaba Cloud Model
/// Studio's mainland-China prices in CNY (the catalog has only the international USD ones);
/// tiered prices are the lowest tier (prompts up to 32K tokens for Qwen3-Max, 200K for Gemini
/// 2.5 Pro). Prices checked on 2026-11-27.
package enum BuiltInPrices {
    /// One dated price of one model, as the provider publishes it.
    package struct Row: Sendable {
        package var vendor: PriceVendor
        package var model: String
        /// `YYYY-MM-DD`, or `nil` for always.
        package var effective: String?
        package var input: String
        package var cachedInput: String? = nil
        package var cacheWrite: String? = nil
        package var output: String
        package var reasoning: String? = nil
        package var currency: Price.Currency = .usd
        /// Where the price is published, and notes.
        package var source: String
    }

    package static let deepSeekPricing = "https://api-docs.deepseek.com/quick_start/pricing"
    package static let dashScopePricing = "https://help.aliyun.com/zh/model-studio/models (mainland China)"

    package static let rows: [Row] = [
        Row(vendor: .demo, model: "demo", effective: nil, input: "0", output: "0", source: "the built-in offline demo model is free"),
        // DeepSeek: V3 after its launch discount, V3.1 (unified prices from 2025-09-05 16:00 UTC;
        // the first whole UTC day is used), then V3.2-Exp, which halved prices.
        Row(
            vendor: .deepSeek,
            model: "deepseek-chat",
            effective: "2025-02-09",
            input: "0.27",
            cachedInput: "0.07",
            output: "1.10",
            source: Self.deepSeekPricing
        ),
        Row(
            vendor: .deepSeek,
            model: "deepseek-chat",
            effective: "2025-09-06",
            input: "0.56",
            cachedInput: "0.07",
            output: "1.68",
            source: Self.deepSeekPricing
        ),
        Row(
            vendor: .deepSeek,
            model: "deepseek-chat",
            effective: "2025-09-29",
            input: "0.28",
            cachedInput: "0.028",
            output: "0.42",
            source: Self.deepSeekPricing
        ),
        Row(
            vendor: .deepSeek,
            model: "deepseek-reasoner",
            effective: "2025-01-20",
            input: "0.55",
            cachedInput: "0.14",
            output: "2.19",
            source: Self.deepSeekPricing
        ),
        Row(
            vendor: .deepSeek,
            model: "deepseek-reasoner",
            effective: "2025-09-06",
            input: "0.56",
            cachedInput: "0.07",
            output: "1.68",
            source: Self.deepSeekPricing
        ),
        Row(
            vendor: .deepSeek,
            model: "deepseek-reasoner",
            effective: "2025-09-29",
            input: "0.28",
            cachedInput: "0.028",
            output: "0.42",
            source: Self.deepSeekPricing
        ),
        // Alibaba Cloud Model Studio (DashScope), mainland China, CNY.
        Row(
            vendor: .dashScope,
            model: "qwen-plus",
            effective: "2024-09-19",
            input: "0.8",
            output: "2.0",
            currency: .cny,
            source: Self.dashScopePricing + "; price cut of 2024-09-19"
        ),
        Row(
            vendor: .dashScope,
            model: "qwen-max",
            effective: "2025-02-01",
            input: "2.4",
            output: "9.6",
            currency: .cny,
            source: Self.dashScopePricing + "; Qwen2.5-Max price, dated conservatively"
        ),
        Row(
            vendor: .dashScope,
            model: "qwen-turbo",
            effective: "2025-04-29",
            input: "0.3",
            output: "0.6",
            reasoning: "3.0",
            currency: .cny,
            source: Self.dashScopePricing + "; thinking output priced since Qwen3 (2025-04-29)"
        ),
        Row(
            vendor: .dashScope,
            model: "qwen3-max",
            effective: "2025-09-24",
            input: "6",
            output: "24",
            currency: .cny,
            source: Self.dashScopePricing + "; tier of prompts up to 32K tokens"
        ),
        Row(
            vendor: .dashScope,
            model: "deepseek-v3",
            effective: "2025-03-01",
            input: "2",
            cachedInput: "0.5",
            output: "8",
            currency: .cny,
            source: Self.dashScopePricing + "; DeepSeek-V3 on Model Studio, dated conservatively"
        ),
        // OpenAI.
        Row(
            vendor: .openAI,
            model: "gpt-4o",
            effective: "2024-10-02",
            input: "2.50",
            cachedInput: "1.25",
            output: "10.00",
            source: "https://openai.com/api/pricing/; gpt-4o points to gpt-4o-2024-08-06 since 2024-10-02"
        ),
        Row(
            vendor: .openAI,
            model: "gpt-4o-mini",
            effective: "2024-10-01",
            input: "0.15",
            cachedInput: "0.075",
            output: "0.60",
            source: "https://openai.com/api/pricing/; cached input since prompt caching (2024-10-01)"
        ),
        Row(
            vendor: .openAI,
            model: "text-embedding-3-small",
            effective: "2024-01-25",
            input: "0.02",
            output: "0",
            source: "https://openai.com/api/pricing/"
        ),
        // Anthropic: cache writes are the 5-minute cache's.
        Row(
            vendor: .anthropic,
            model: "claude-sonnet-4-20250514",
            effective: "2025-05-22",
            input: "3.00",
            cachedInput: "0.30",
            cacheWrite: "3.75",
            output: "15.00",
            source: "https://www.anthropic.com/pricing#api"
        ),
        Row(
            vendor: .anthropic,
            model: "claude-3-5-haiku-20241022",
            effective: "2025-01-01",
            input: "0.80",
            cachedInput: "0.08",
            cacheWrite: "1.00",
            output: "4.00",
            source: "https://www.anthropic.com/pricing#api; cut from $1/$5 in December 2024, dated conservatively"
        ),
        // Google Gemini API, paid tier; thinking tokens are output.
        Row(
            vendor: .gemini,
            model: "gemini-2.5-flash",
            effective: "2025-06-17",
            input: "0.30",
            cachedInput: "0.03",
            output: "2.50",
            source: "https://ai.google.dev/gemini-api/docs/pricing; general availability 2025-06-17"
        ),
        Row(
            vendor: .gemini,
            model: "gemini-2.5-pro",
            effective: "2025-06-17",
            input: "1.25",
            cachedInput: "0.125",
            output: "10.00",
            source: "https://ai.google.dev/gemini-api/docs/pricing; prompts up to 200K tokens"
        ),
        Row(
            vendor: .gemini,
            model: "gemini-embedding-001",
            effective: "2025-07-14",
            input: "0.15",
            output: "0",
            source: "https://ai.google.dev/gemini-api/docs/pricing; general availability 2025-07-14"
        ),
    ]

    /// The rows as schedules, by `vendor/model`.
    package static let schedules: [String: PriceSchedule] = {
        var entries: [String: [PriceSchedule.Entry]] = [:]
        for row in Self.rows {
            entries["\(row.vendor.rawValue)/\(row.model)", default: []].append(PriceSchedule.Entry(effective: row.effectiveDay, price: row.price))
        }
        return entries.mapValues(PriceSchedule.init)
    }()
}

extension BuiltInPrices.Row {
    /// The row's prices are literals checked by `BuiltInPricesTests`, so these unwraps cannot fail.
    package var price: Price {
        Price(
            input: Price.perToken(fromPerMillion: self.input)!,
            cachedInput: self.cachedInput.map { Price.perToken(fromPerMillion: $0)! },
            cacheWrite: self.cacheWrite.map { Price.perToken(fromPerMillion: $0)! },
            output: Price.perToken(fromPerMillion: self.output)!,
            reasoning: self.reasoning.map { Price.perToken(fromPerMillion: $0)! },
            currency: self.currency
        )
    }

    /// Checked by `BuiltInPricesTests` like ``price``.
    package var effectiveDay: CalendarDay? { self.effective.map { CalendarDay(parsing: $0)! } }
}
