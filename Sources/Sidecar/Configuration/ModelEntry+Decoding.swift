//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension ModelEntry {
    static let allowedKeys: Set<String> = [
        "provider", "upstream_model", "context_window", "max_output_tokens", "price", "strengths", "best_for", "description",
    ]
    static let priceKeys: Set<String> = ["input", "cached_input", "cache_write", "output", "reasoning", "currency"]

    /// Decodes `models:`, checking that each names a configured provider.
    static func decodeAll(
        _ value: ConfigurationReader.Value,
        providers: [String: ProviderConfiguration],
        declaredProviders: Set<String>,
        reader: inout ConfigurationReader
    ) -> [ModelEntry] {
        let entries = reader.mapping(value)
        if entries.isEmpty { reader.report(value, "at least one model is required") }
        return entries.compactMap { name, child in
            Self.decode(name: name, child, providers: providers, declaredProviders: declaredProviders, reader: &reader)
        }
    }

    private static func decode(
        name: String,
        _ value: ConfigurationReader.Value,
        providers: [String: ProviderConfiguration],
        declaredProviders: Set<String>,
        reader: inout ConfigurationReader
    ) -> ModelEntry? {
        if name.dropLast().contains("*") { reader.report(value, "a pattern may only have '*' at its end") }
        var entry = ModelEntry(name: name, provider: "", strengths: [], bestFor: [])
        for (key, child) in reader.mapping(value, allowedKeys: Self.allowedKeys) {
            switch key {
            case "provider": entry.provider = reader.string(child) ?? ""
            case "upstream_model": entry.upstreamModel = reader.string(child)
            case "context_window": entry.contextWindow = reader.int(child, in: 1...100_000_000)
            case "max_output_tokens": entry.maxOutputTokens = reader.int(child, in: 1...100_000_000)
            case "price": entry.price = Self.decodePrice(child, reader: &reader)
            case "strengths": entry.strengths = reader.stringList(child)
            case "best_for": entry.bestFor = reader.stringList(child)
            case "description": entry.description = reader.string(child)
            default: break
            }
        }
        guard !entry.provider.isEmpty else {
            reader.report(value, path: value.child("provider"), "is required")
            return nil
        }
        guard providers[entry.provider] != nil else {
            if !declaredProviders.contains(entry.provider) {
                reader.report(value, path: value.child("provider"), "no provider named '\(entry.provider)' under providers")
            }
            return nil
        }
        return entry
    }

    private static func decodePrice(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> Price? {
        var amounts: [String: Money] = [:]
        var currency = Price.Currency.usd
        for (key, child) in reader.mapping(value, allowedKeys: Self.priceKeys) {
            if key == "currency" {
                guard let text = reader.string(child), let parsed = Price.Currency(rawValue: text.uppercased()) else {
                    reader.report(child, "must be USD or CNY")
                    continue
                }
                currency = parsed
            } else if let amount = reader.pricePerMillion(child) {
                amounts[key] = amount
            }
        }
        guard let input = amounts["input"], let output = amounts["output"] else {
            reader.report(value, "needs both input and output (prices per million tokens)")
            return nil
        }
        return Price(
            input: input,
            cachedInput: amounts["cached_input"],
            cacheWrite: amounts["cache_write"],
            output: output,
            reasoning: amounts["reasoning"],
            currency: currency
        )
    }
}
