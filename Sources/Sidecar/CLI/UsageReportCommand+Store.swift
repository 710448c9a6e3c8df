//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import FoundationEssentials
import NIOCore
import NIOPosix
import SidecarModel

/// `llm-sidecar usage report --store redis://…`: the fleet's totals, read from the store every
/// pod adds to (``FleetStatistics``) instead of from usage lines.
extension UsageReportCommand {
    /// The fields the fleet's totals are kept by.
    static let storeFields: [String: @Sendable (UsageStatistics.Group) -> String] = [
        "model": { $0.model }, "provider": { $0.provider }, "task_type": { $0.taskType }, "client": { $0.client },
    ]

    func validateStore() throws {
        guard self.store != nil else { return }
        guard self.files.isEmpty, self.since == nil, self.until == nil else {
            throw ValidationError("--store reads the fleet's totals: it takes no files, --since or --until (use --window)")
        }
        for field in self.fields where Self.storeFields[field] == nil {
            throw ValidationError("--by \(field): with --store, group by \(Self.storeFields.keys.sorted().joined(separator: ", "))")
        }
        guard UsageStatistics.Window(rawValue: self.window) != nil else { throw ValidationError("--window must be 1h, 24h or all") }
    }

    /// Reads the fleet's totals over `--window` into a report grouped by `--by`.
    func storeReport(url: String) throws -> UsageReport {
        var settings: StoreSettings
        switch StoreSettings.parse(url: url) {
        case .success(let parsed): settings = parsed
        case .failure(let problem): throw ValidationError("--store \(problem.message)")
        }
        settings.keyPrefix = self.keyPrefix
        settings.timeout = .seconds(10)
        settings.connectTimeout = .seconds(5)
        if let name = self.passwordEnv {
            guard let password = ProviderConfiguration.readKey(.environment(name), environment: ProcessInfo.processInfo.environment) else {
                throw ValidationError("--password-env: the environment variable \(name) is not set")
            }
            settings.password = password
        }
        let store = try FleetStore(settings: settings, audit: AuditLog(write: { _ in })) { [password = settings.password] in password?.value }
        let window = UsageStatistics.Window(rawValue: self.window) ?? .all
        let groups = try MultiThreadedEventLoopGroup.singleton.any().makeFutureWithTask {
            defer { Task { await store.client.shutdown() } }
            return try await FleetStatistics(store: store).totals(over: window).groups
        }.wait()
        var report = UsageReport(groupBy: self.fields)
        for (group, totals) in groups {
            report.add(group: self.fields.map { Self.storeFields[$0].map { key in key(group) } }, totals: totals)
        }
        return report
    }
}
