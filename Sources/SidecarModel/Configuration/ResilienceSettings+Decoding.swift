//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension ResilienceSettings {
    package static let keys: Set<String> = ["retries", "breaker", "timeouts", "health_checks"]
    package static let retryKeys: Set<String> = ["max_attempts", "max_total_attempts", "backoff", "max_backoff", "max_wait", "retry_on", "budget"]
    package static let breakerKeys: Set<String> = [
        "window", "minimum_calls", "failure_rate", "consecutive_failures", "open_for", "half_open_probes", "max_ejected_share",
    ]
    /// Every key under `resilience:`, nested ones included, for documentation checks.
    package static let allKeys = keys.union(retryKeys).union(breakerKeys).union([
        "first_byte", "idle", "enabled", "interval", "ratio", "minimum_per_second",
    ])

    package static func decode(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> ResilienceSettings {
        var settings = ResilienceSettings()
        for (key, child) in reader.mapping(value, allowedKeys: Self.keys) {
            switch key {
            case "retries": settings.decodeRetries(child, reader: &reader)
            case "breaker": settings.decodeBreaker(child, reader: &reader)
            case "timeouts":
                for (name, timeout) in reader.mapping(child, allowedKeys: ["first_byte", "idle"]) {
                    guard let duration = reader.duration(timeout) else { continue }
                    if name == "first_byte" { settings.firstByteTimeout = duration } else { settings.idleTimeout = duration }
                }
            case "health_checks":
                for (name, option) in reader.mapping(child, allowedKeys: ["enabled", "interval"]) {
                    if name == "enabled" { settings.healthChecks.enabled = reader.bool(option) ?? false }
                    if name == "interval" { settings.healthChecks.interval = reader.duration(option) ?? settings.healthChecks.interval }
                }
            default: break
            }
        }
        return settings
    }

    private mutating func decodeRetries(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) {
        for (key, child) in reader.mapping(value, allowedKeys: Self.retryKeys) {
            switch key {
            case "max_attempts": self.maxAttemptsPerDeployment = reader.int(child, in: 1...20) ?? self.maxAttemptsPerDeployment
            case "max_total_attempts": self.maxAttempts = reader.int(child, in: 1...50) ?? self.maxAttempts
            case "backoff": self.backoff.base = reader.duration(child) ?? self.backoff.base
            case "max_backoff": self.backoff.maximum = reader.duration(child) ?? self.backoff.maximum
            case "max_wait": self.maxWait = reader.duration(child) ?? self.maxWait
            case "retry_on": self.decodeRetryOn(child, reader: &reader)
            case "budget":
                for (name, option) in reader.mapping(child, allowedKeys: ["ratio", "minimum_per_second"]) {
                    guard let number = option.node.string.flatMap(Double.init), number >= 0 else {
                        reader.report(option, "must be a non-negative number")
                        continue
                    }
                    if name == "ratio" { self.budget.ratio = number } else { self.budget.minimumPerSecond = number }
                }
            default: break
            }
        }
    }

    private mutating func decodeRetryOn(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) {
        self.retryStatuses = []
        self.retryConnectErrors = false
        self.retryTimeouts = false
        for (index, item) in reader.stringList(value).enumerated() {
            switch item {
            case "connect_error": self.retryConnectErrors = true
            case "timeout": self.retryTimeouts = true
            case "5xx": self.retryStatuses.formUnion(500...599)
            default:
                guard let status = Int(item), (400...599).contains(status) else {
                    reader.report(
                        value,
                        path: "\(value.path)[\(index)]",
                        "must be an HTTP status (400–599), 5xx, connect_error or timeout, not '\(item)'"
                    )
                    continue
                }
                self.retryStatuses.insert(status)
            }
        }
    }

    private mutating func decodeBreaker(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) {
        for (key, child) in reader.mapping(value, allowedKeys: Self.breakerKeys) {
            switch key {
            case "window": self.breaker.window = reader.duration(child) ?? self.breaker.window
            case "minimum_calls": self.breaker.minimumCalls = reader.int(child, in: 1...100_000) ?? self.breaker.minimumCalls
            case "consecutive_failures": self.breaker.consecutiveFailures = reader.int(child, in: 1...100_000) ?? self.breaker.consecutiveFailures
            case "open_for": self.breaker.openDuration = reader.duration(child) ?? self.breaker.openDuration
            case "half_open_probes": self.breaker.halfOpenProbes = reader.int(child, in: 1...1000) ?? self.breaker.halfOpenProbes
            case "failure_rate", "max_ejected_share":
                guard let share = child.node.string.flatMap(Double.init), (0...1).contains(share) else {
                    reader.report(child, "must be a number between 0 and 1")
                    continue
                }
                if key == "failure_rate" { self.breaker.failureRate = share } else { self.maxEjectedShare = share }
            default: break
            }
        }
    }
}

extension RouteConfiguration {
    /// Decodes `routes:`, checking that every named model exists.
    package static func decodeAll(
        _ value: ConfigurationReader.Value,
        models: ModelCatalog,
        reader: inout ConfigurationReader
    ) -> [String: RouteConfiguration] {
        var routes: [String: RouteConfiguration] = [:]
        for (task, child) in reader.mapping(value) {
            var route = RouteConfiguration(primary: [], fallback: [])
            for (key, list) in reader.mapping(child, allowedKeys: ["primary", "fallback"]) {
                let names = reader.stringList(list)
                for (index, name) in names.enumerated() where models.resolve(name) == nil {
                    reader.report(list, path: "\(list.path)[\(index)]", "no model named '\(name)' under models")
                }
                if key == "primary" { route.primary = names } else { route.fallback = names }
            }
            if route.primary.isEmpty { reader.report(child, path: child.child("primary"), "needs at least one model") }
            routes[task] = route
        }
        return routes
    }
}
