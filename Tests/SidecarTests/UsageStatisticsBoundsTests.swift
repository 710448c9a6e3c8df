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
@testable import SidecarModel

/// The usage statistics keep one entry per label the configuration names, whatever clients send
/// (a 60 KB `X-Task-Type` per request and 20,000 pattern model names grew them without bound).
@Suite struct UsageStatisticsBoundsTests {
    static let configuration: SidecarConfiguration = {
        let yaml = """
            providers:
              demo: { dialect: demo }
            models:
              demo: { provider: demo }
              "f-*": { provider: demo }
            routes:
              translation: { primary: [demo] }
              default: { primary: [demo] }
            clients:
              alice: { token_sha256: \(String(repeating: "ab", count: 32)) }
            """
        return try! SidecarConfiguration.parse(yaml: yaml, file: "test.yaml", environment: [:])
    }()

    static func record(model: String?, entry: String?, taskType: String?, client: String = "alice") -> UsageRecord {
        var record = UsageRecord(requestID: "req", api: "openai", operation: "chat")
        record.model = model
        record.modelEntry = entry
        record.provider = entry == nil ? nil : "demo"
        record.taskType = taskType
        record.client = client
        record.usage = Usage(inputTokens: 3, outputTokens: 4)
        record.latencyMilliseconds = 12
        return record
    }

    @Test func labelsTheConfigurationDoesNotNameCountUnderOther() {
        let statistics = UsageStatistics()
        for index in 0..<2_000 {
            let task = "task-\(index)-" + String(repeating: "x", count: 1_000)
            statistics.observe(Self.record(model: "f-\(index)", entry: "f-*", taskType: task), configuration: Self.configuration)
        }
        statistics.observe(Self.record(model: "demo", entry: "demo", taskType: "translation"), configuration: Self.configuration)
        statistics.observe(Self.record(model: nil, entry: nil, taskType: nil, client: "mallory"), configuration: Self.configuration)
        for window in UsageStatistics.Window.allCases {
            let groups = statistics.totals(over: window).groups
            #expect(Set(groups.keys.map(\.model)) == ["f-*", "demo", "none"])
            #expect(Set(groups.keys.map(\.taskType)) == ["_other", "translation", "none"])
            #expect(Set(groups.keys.map(\.client)) == ["alice", "_other"])
            #expect(groups[UsageStatistics.Group(model: "f-*", provider: "demo", taskType: "_other", client: "alice")]?.requests == 2_000)
        }
    }

    @Test func eachTableHoldsAtMostTheMaximumOfGroups() {
        let statistics = UsageStatistics()
        let entry = UsageTotals.Entry(failed: false, usage: nil, cost: nil, currency: nil, latencyMilliseconds: 1)
        let now = QuotaBook.now()
        for index in 0..<(UsageStatistics.maximumGroups + 500) {
            statistics.add(entry, to: .init(model: "m\(index)", provider: "p", taskType: "t", client: "c"), at: now)
        }
        for window in UsageStatistics.Window.allCases {
            let groups = statistics.totals(over: window).groups
            #expect(groups.count == UsageStatistics.maximumGroups + 1)
            #expect(groups[.overflow]?.requests == 500)
        }
    }

    @Test func theRebuildFromTheUsageFileFoldsUnknownLabels() throws {
        let line = #"""
            {"timestamp":"2026-11-27T03:07:26.495Z","kind":"usage","client":"gone","task_type":"odd","model":"f-x","gen_ai.provider.name":"old","outcome":"success","latency_ms":1e999,"gen_ai.usage.input_tokens":9223372036854775807,"gen_ai.usage.output_tokens":1}
            """#
        let (group, entry, _) = try #require(UsageStatistics.decodeLine(ArraySlice(line.utf8), configuration: Self.configuration))
        #expect(group == UsageStatistics.Group(model: "f-*", provider: "_other", taskType: "_other", client: "_other"))
        // An edited line cannot trap: token sums saturate and an infinite latency is the last bucket.
        var totals = UsageTotals()
        totals.add(entry)
        totals.add(entry)
        totals.merge(totals)
        #expect(totals.inputTokens == Int.max)
        #expect(totals.latency.percentile(0.5) == LatencyHistogram.largestMilliseconds)
        var histogram = LatencyHistogram()
        histogram.record(milliseconds: .nan)
        histogram.record(milliseconds: -.infinity)
        #expect(histogram.percentile(1) == 1)
    }

    /// A pattern model makes a deployment per name asked for; the registry forgets idle ones.
    @Test func theDeploymentRegistryForgetsIdleDeploymentsPastItsMaximum() {
        let registry = DeploymentRegistry()
        let policy = CircuitBreaker.Policy()
        let busy = registry.deployment(id: "demo/busy", policy: policy)
        #expect(busy.acquire(limit: nil))
        for index in 0..<5_000 { _ = registry.deployment(id: "demo/f-\(index)", policy: policy) }
        #expect(registry.all.count <= DeploymentRegistry.maximumDeployments)
        #expect(registry.all.contains { $0 === busy }, "a deployment with a request in flight is kept")
        busy.release()
    }
}
