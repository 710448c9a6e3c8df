//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension ModelEntry {
    package static let allowedKeys: Set<String> = [
        "provider", "upstream_model", "deployments", "balance", "fallbacks", "context_window", "max_output_tokens", "price",
        "strengths", "best_for", "description",
    ]
    package static let deploymentKeys: Set<String> = ["provider", "upstream_model", "weight", "max_concurrency"]
    package static let priceKeys: Set<String> = ["input", "cached_input", "cache_write", "output", "reasoning", "currency", "effective"]

    /// Decodes `models:`, checking that each deployment names a configured provider and that
    /// every fallback names a model.
    package static func decodeAll(
        _ value: ConfigurationReader.Value,
        providers: [String: ProviderConfiguration],
        declaredProviders: Set<String>,
        reader: inout ConfigurationReader
    ) -> [ModelEntry] {
        let entries = reader.mapping(value)
        if entries.isEmpty { reader.report(value, "at least one model is required") }
        let models = entries.compactMap { name, child in
            Self.decode(name: name, child, providers: providers, declaredProviders: declaredProviders, reader: &reader)
        }
        let names = Set(entries.map(\.key))
        for (name, child) in entries {
            for (key, option) in reader.mapping(child) where key == "fallbacks" {
                for fallback in reader.stringList(option) where !names.contains(fallback) {
                    reader.report(option, "fallback '\(fallback)' of '\(name)' is not a model under models")
                }
            }
        }
        return models
    }

    private static func decode(
        name: String,
        _ value: ConfigurationReader.Value,
        providers: [String: ProviderConfiguration],
        declaredProviders: Set<String>,
        reader: inout ConfigurationReader
    ) -> ModelEntry? {
        if name.dropLast().contains("*") { reader.report(value, "a pattern may only have '*' at its end") }
        var entry = ModelEntry(name: name, deployments: [], strengths: [], bestFor: [])
        var single = DeploymentConfiguration(provider: "")
        let problemsBefore = reader.problems.count
        for (key, child) in reader.mapping(value, allowedKeys: Self.allowedKeys) {
            switch key {
            case "provider": single.provider = reader.string(child) ?? ""
            case "upstream_model": single.upstreamModel = reader.string(child)
            case "deployments": entry.deployments = Self.decodeDeployments(child, reader: &reader)
            case "balance": entry.balance = Self.decodeBalance(child, reader: &reader)
            case "fallbacks": entry.fallbacks = reader.stringList(child)
            case "context_window": entry.contextWindow = reader.int(child, in: PriceCatalog.Entry.tokenLimits)
            case "max_output_tokens": entry.maxOutputTokens = reader.int(child, in: PriceCatalog.Entry.tokenLimits)
            case "price": entry.pricing.configured = Self.decodePriceSchedule(child, reader: &reader)
            case "strengths": entry.strengths = reader.stringList(child)
            case "best_for": entry.bestFor = reader.stringList(child)
            case "description": entry.description = reader.string(child)
            default: break
            }
        }
        if !single.provider.isEmpty { entry.deployments.insert(single, at: 0) }
        guard !entry.deployments.isEmpty else {
            if reader.problems.count == problemsBefore {
                reader.report(value, path: value.child("provider"), "is required (or list deployments)")
            }
            return nil
        }
        for deployment in entry.deployments where providers[deployment.provider] == nil {
            if !declaredProviders.contains(deployment.provider) {
                reader.report(value, path: value.child("provider"), "no provider named '\(deployment.provider)' under providers")
            }
            return nil
        }
        return entry
    }

    private static func decodeDeployments(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> [DeploymentConfiguration] {
        guard case .sequence(let items) = value.node.kind else {
            reader.report(value, "must be a list of deployments")
            return []
        }
        return items.enumerated().compactMap { index, node in
            let item = ConfigurationReader.Value(node: node, path: "\(value.path)[\(index)]")
            var deployment = DeploymentConfiguration(provider: "")
            for (key, child) in reader.mapping(item, allowedKeys: Self.deploymentKeys) {
                switch key {
                case "provider": deployment.provider = reader.string(child) ?? ""
                case "upstream_model": deployment.upstreamModel = reader.string(child)
                case "weight": deployment.weight = reader.int(child, in: 1...1_000_000) ?? 1
                case "max_concurrency": deployment.maxConcurrency = reader.int(child, in: 1...1_000_000)
                default: break
                }
            }
            guard !deployment.provider.isEmpty else {
                reader.report(item, path: item.child("provider"), "is required")
                return nil
            }
            return deployment
        }
    }

    private static func decodeBalance(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> BalanceStrategy {
        guard let text = reader.string(value), let strategy = BalanceStrategy(rawValue: text) else {
            reader.report(value, "must be one of \(BalanceStrategy.allCases.map(\.rawValue).joined(separator: ", "))")
            return .priority
        }
        return strategy
    }

    /// `price:` is one price or a list of prices with distinct `effective` days (at most one without).
    private static func decodePriceSchedule(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> PriceSchedule? {
        var items = [value]
        if case .sequence(let nodes) = value.node.kind {
            guard !nodes.isEmpty else {
                reader.report(value, "must be a price or a list of prices")
                return nil
            }
            items = nodes.enumerated().map { ConfigurationReader.Value(node: $1, path: "\(value.path)[\($0)]") }
        }
        var entries: [PriceSchedule.Entry] = []
        var days: Set<CalendarDay?> = []
        for item in items {
            guard let entry = Self.decodePrice(item, reader: &reader) else { continue }
            guard days.insert(entry.effective).inserted else {
                if let day = entry.effective {
                    reader.report(item, path: item.child("effective"), "another price of this model is effective on \(day) too")
                } else {
                    reader.report(item, "only one price may leave out effective (it applies before the first dated one)")
                }
                continue
            }
            entries.append(entry)
        }
        return entries.isEmpty ? nil : PriceSchedule(entries)
    }

    private static func decodePrice(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> PriceSchedule.Entry? {
        var amounts: [String: Money] = [:]
        var currency = Price.Currency.usd
        var effective: CalendarDay?
        var valid = true
        for (key, child) in reader.mapping(value, allowedKeys: Self.priceKeys) {
            if key == "currency" {
                guard let text = reader.string(child), let parsed = Price.Currency(rawValue: text.uppercased()) else {
                    reader.report(child, "must be USD or CNY")
                    continue
                }
                currency = parsed
            } else if key == "effective" {
                guard let text = reader.string(child) else {
                    valid = false
                    continue
                }
                guard let day = CalendarDay(parsing: text.trimmed) else {
                    reader.report(child, "must be a date YYYY-MM-DD (UTC), such as 2025-09-29, not '\(text)'")
                    valid = false
                    continue
                }
                effective = day
            } else if let amount = reader.pricePerMillion(child) {
                amounts[key] = amount
            }
        }
        guard let input = amounts["input"], let output = amounts["output"] else {
            reader.report(value, "needs both input and output (prices per million tokens)")
            return nil
        }
        let price = Price(
            input: input,
            cachedInput: amounts["cached_input"],
            cacheWrite: amounts["cache_write"],
            output: output,
            reasoning: amounts["reasoning"],
            currency: currency
        )
        return valid ? PriceSchedule.Entry(effective: effective, price: price) : nil
    }
}
