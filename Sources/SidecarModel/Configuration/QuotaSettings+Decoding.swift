//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension QuotaSettings {
    package static let keys: Set<String> = ["time_zone", "state_file", "default_output_reservation", "global", "clients"]
    package static let limitKeys: Set<String> = ["requests_per_minute", "tokens_per_minute", "cost_per_day", "cost_per_month"]

    package static func decode(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> QuotaSettings {
        var settings = QuotaSettings()
        for (key, child) in reader.mapping(value, allowedKeys: Self.keys) {
            switch key {
            case "time_zone": settings.utcOffsetSeconds = Self.decodeTimeZone(child, reader: &reader) ?? 0
            case "state_file": settings.stateFile = reader.string(child).flatMap { $0.isEmpty ? nil : $0 }
            case "default_output_reservation":
                settings.defaultOutputReservation = reader.int(child, in: 1...10_000_000) ?? settings.defaultOutputReservation
            case "global": settings.global = Self.decodeLimits(child, reader: &reader)
            case "clients":
                for (name, limits) in reader.mapping(child) { settings.clients[name] = Self.decodeLimits(limits, reader: &reader) }
            default: break
            }
        }
        return settings
    }

    private static func decodeLimits(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> Limits {
        var limits = Limits()
        for (key, child) in reader.mapping(value, allowedKeys: Self.limitKeys) {
            switch key {
            case "requests_per_minute": limits.requestsPerMinute = reader.int(child, in: 0...100_000_000)
            case "tokens_per_minute": limits.tokensPerMinute = reader.int(child, in: 0...1_000_000_000_000)
            case "cost_per_day": limits.costPerDay = Self.decodeAmounts(child, reader: &reader)
            case "cost_per_month": limits.costPerMonth = Self.decodeAmounts(child, reader: &reader)
            default: break
            }
        }
        return limits
    }

    /// `{ USD: 5, CNY: 30 }`: an amount per currency.
    private static func decodeAmounts(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> [String: Money] {
        var amounts: [String: Money] = [:]
        for (currency, amount) in reader.mapping(value, allowedKeys: Set(Price.Currency.allCases.map(\.rawValue))) {
            guard let text = reader.string(amount), let money = Money(parsing: text) else {
                reader.report(amount, "must be a non-negative amount such as 5 or 12.50")
                continue
            }
            amounts[currency] = money
        }
        return amounts
    }

    /// `UTC` or a fixed offset `+08:00` / `-05:30`, in seconds.
    private static func decodeTimeZone(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> Int? {
        guard let text = reader.string(value) else { return nil }
        if text == "UTC" || text == "Z" { return 0 }
        let sign: Int? = text.hasPrefix("+") ? 1 : text.hasPrefix("-") ? -1 : nil
        let parts = text.dropFirst().split(separator: ":")
        guard let sign, parts.count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]), (0...14).contains(hours),
            (0...59).contains(minutes)
        else {
            reader.report(value, "must be UTC or an offset such as +08:00 (time zones with daylight saving time are not supported)")
            return nil
        }
        return sign * (hours * 3600 + minutes * 60)
    }
}
