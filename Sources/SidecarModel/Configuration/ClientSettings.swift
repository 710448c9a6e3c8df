//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One application allowed to call the sidecar (`clients.<name>`): its token's SHA-256 (the
/// token itself is never stored) and what it may use. Quotas for it live under
/// `quotas.clients.<name>`.
package struct ClientSettings: Sendable, Hashable {
    package var name: String
    /// SHA-256 of the client's token (32 bytes).
    package var tokenHash: [UInt8]
    /// Models it may ask for, exact names or `prefix*` patterns, and `auto` for task routing;
    /// `nil`: every model.
    package var models: [String]?
    /// Task types it may route by; `nil`: every task type.
    package var taskTypes: [String]?
    /// Whether `/api/v1/usage/stats` and `/costs` show it every client's totals
    /// (`read_all_usage: true`); by default a client sees only its own.
    package var readAllUsage = false

    package func allows(model name: String) -> Bool {
        guard let models = self.models else { return true }
        return models.contains { $0.hasSuffix("*") ? name.hasPrefix($0.dropLast()) : $0 == name }
    }

    package func allows(taskType: String) -> Bool {
        self.taskTypes?.contains(taskType) ?? true
    }

    /// Whether it may use any model, which `/v1/*` passthrough (files, batches…) requires.
    package var allowsEveryModel: Bool { self.models == nil || self.models?.contains("*") == true }

    /// Whether task routing (`model: "auto"` or `"auto:<task>"`) uses the route's models as
    /// configured, whether or not `models` names them: `auto` or `*` in its `models`, or no
    /// `models` list. Otherwise the route's models are limited to those `models` allows.
    package var followsRoutes: Bool { self.models.map { $0.contains(ReservedName.autoModel) || $0.contains("*") } ?? true }
}

extension ClientSettings {
    package static let keys: Set<String> = ["token_sha256", "models", "task_types", "read_all_usage"]

    package static func decodeAll(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> [ClientSettings] {
        reader.mapping(value).compactMap { name, child in
            // The anonymous caller's name, and what unknown clients count under in the usage
            // statistics: a client so named would see their requests as its own.
            guard name != ReservedName.anonymousClient, name != ReservedName.overflowGroup else {
                reader.report(child, "the client name '\(name)' is reserved (the anonymous caller's, or the usage statistics' for unknown clients)")
                return nil
            }
            var client = ClientSettings(name: name, tokenHash: [])
            for (key, option) in reader.mapping(child, allowedKeys: Self.keys) {
                switch key {
                case "token_sha256":
                    guard let text = reader.string(option), let hash = Self.hexBytes(text), hash.count == 32 else {
                        reader.report(option, "must be 64 hexadecimal digits (`llm-sidecar token new --name \(name)` prints one)")
                        continue
                    }
                    client.tokenHash = hash
                case "models": client.models = Self.decodeModels(option, client: name, reader: &reader)
                case "task_types": client.taskTypes = reader.stringList(option)
                case "read_all_usage": client.readAllUsage = reader.bool(option) ?? false
                default: break
                }
            }
            guard !client.tokenHash.isEmpty else {
                reader.report(child, path: child.child("token_sha256"), "is required")
                return nil
            }
            return client
        }
    }

    /// `models`; `auto:<task>` entries are refused, since `task_types` is what limits task routing.
    private static func decodeModels(_ value: ConfigurationReader.Value, client: String, reader: inout ConfigurationReader) -> [String] {
        let models = reader.stringList(value)
        for (index, model) in models.enumerated() where ReservedName.routesByTask(model) && model != ReservedName.autoModel {
            reader.report(
                value,
                path: "\(value.path)[\(index)]",
                "'\(model)': write auto to allow task routing, and limit its task types with clients.\(client).task_types"
            )
        }
        return models
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.lowercased().utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
