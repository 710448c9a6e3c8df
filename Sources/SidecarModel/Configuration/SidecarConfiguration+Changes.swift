//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

package import Translate

extension SidecarConfiguration {
    /// What an audit line says about a configuration: its file, fingerprint and size — never a key.
    package func auditFields(path: String) -> JSONObject {
        [
            "file": .string(path), "configuration": .string(self.fingerprint),
            "providers": .number(JSONNumber(self.providers.count)), "models": .number(JSONNumber(self.models.allEntries.count)),
            "clients": .number(JSONNumber(self.clients.count)),
        ]
    }

    /// What a reload changed, for logs and audit lines: names only, never a key's value.
    package struct Changes: Sendable, Hashable {
        /// Changes that apply from the next request (`model 'x' added`, `key of provider 'y' changed`).
        package var applied: [String] = []
        /// Settings read only at start-up that differ (`listen`, `usage.sink`…).
        package var needRestart: [String] = []
    }

    package func changes(since old: SidecarConfiguration) -> Changes {
        var changes = Changes()
        changes.applied += Self.compare("provider", old.providers, self.providers) { old, new in
            var what: [String] = []
            if old.baseURL != new.baseURL || old.dialect != new.dialect { what.append("endpoint") }
            if old.apiKeys != new.apiKeys { what.append("keys") }
            if old.connectTimeout != new.connectTimeout || old.timeout != new.timeout || old.firstByteTimeout != new.firstByteTimeout
                || old.idleTimeout != new.idleTimeout
            {
                what.append("timeouts")
            }
            return what
        }
        let oldModels = Dictionary(old.models.allEntries.map { ($0.name, $0) }) { first, _ in first }
        let newModels = Dictionary(self.models.allEntries.map { ($0.name, $0) }) { first, _ in first }
        changes.applied += Self.compare("model", oldModels, newModels) { old, new in
            var what: [String] = []
            if old.deployments != new.deployments || old.balance != new.balance { what.append("deployments") }
            if old.fallbacks != new.fallbacks { what.append("fallbacks") }
            if old.pricing.configured != new.pricing.configured { what.append("price") }
            return what
        }
        changes.applied += Self.compare("route", old.routes, self.routes) { old, new in old == new ? [] : ["candidates"] }
        let oldClients = Dictionary(old.clients.map { ($0.name, $0) }) { first, _ in first }
        let newClients = Dictionary(self.clients.map { ($0.name, $0) }) { first, _ in first }
        changes.applied += Self.compare("client", oldClients, newClients) { old, new in
            [
                ("token", old.tokenHash != new.tokenHash), ("models", old.models != new.models), ("task_types", old.taskTypes != new.taskTypes),
                ("read_all_usage", old.readAllUsage != new.readAllUsage),
            ].filter(\.1).map(\.0)
        }
        if old.pricing.catalog != self.pricing.catalog { changes.applied.append("pricing catalog changed") }
        let restartOnly: [(String, Bool)] = [
            ("listen", old.listen != self.listen),
            ("metrics.listen", old.metricsListen != self.metricsListen),
            ("server.event_loop_threads", old.server.eventLoopThreads != self.server.eventLoopThreads),
            ("usage.sink", old.usage.sink != self.usage.sink),
            (
                "usage.labels",
                old.usage.labels.map(\.name) != self.usage.labels.map(\.name) || old.usage.labels.map(\.value) != self.usage.labels.map(\.value)
            ),
            ("log", old.log.level != self.log.level || old.log.format != self.log.format),
            ("quotas.state_file", old.quotas.stateFile != self.quotas.stateFile),
            ("store", old.store?.withoutPassword != self.store?.withoutPassword),
        ]
        changes.needRestart = restartOnly.filter(\.1).map(\.0)
        return changes
    }

    /// `kind 'name' added/removed`, and `kind 'name' changed (what)` for entries whose
    /// `difference` is not empty.
    private static func compare<Value>(
        _ kind: String,
        _ old: [String: Value],
        _ new: [String: Value],
        difference: (Value, Value) -> [String]
    ) -> [String] {
        var lines: [String] = []
        for name in Set(old.keys).union(new.keys).sorted() {
            switch (old[name], new[name]) {
            case (nil, _?): lines.append("\(kind) '\(name)' added")
            case (_?, nil): lines.append("\(kind) '\(name)' removed")
            case (let before?, let after?):
                let what = difference(before, after)
                if !what.isEmpty { lines.append("\(kind) '\(name)' changed (\(what.joined(separator: ", ")))") }
            case (nil, nil): break
            }
        }
        return lines
    }
}
