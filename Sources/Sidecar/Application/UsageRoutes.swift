//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1
import SidecarModel
import Translate

/// The original service's usage API: `GET /api/v1/usage/stats` and `GET /api/v1/usage/costs`,
/// each with `?window=1h|24h|all` (default `all`: since start-up, plus what was rebuilt from the
/// usage file) and optionally `&group_by=model|provider|task_type|client` (default: all four).
///
/// A configured client sees only its own requests (`"scope": "own"`) unless it has
/// `read_all_usage: true`; the anonymous caller (no `clients:`) sees everything (`"scope": "all"`).
struct UsageRoutes: Sendable {
    let statistics: UsageStatistics

    enum Report {
        case stats
        case costs
    }

    static let groupings: [(name: String, key: @Sendable (UsageStatistics.Group) -> String)] = [
        ("model", { $0.model }), ("provider", { $0.provider }), ("task_type", { $0.taskType }), ("client", { $0.client }),
    ]

    func respond(to request: ServerRequest, report: Report, for client: ClientIdentity) -> ServerResponse {
        let parameters = request.queryParameters
        guard let window = UsageStatistics.Window(rawValue: parameters["window"] ?? "all") else {
            return Self.invalid("window must be one of 1h, 24h, all", param: "window")
        }
        let groupings = Self.groupings.filter { parameters["group_by"] == nil || $0.name == parameters["group_by"] }
        guard !groupings.isEmpty else { return Self.invalid("group_by must be one of model, provider, task_type, client", param: "group_by") }
        var (since, groups) = self.statistics.totals(over: window)
        if !client.readsAllUsage { groups = groups.filter { $0.key.client == client.name } }
        var total = UsageTotals()
        for totals in groups.values { total.merge(totals) }
        var body: JSONObject = [
            "object": .string(report == .stats ? "usage.stats" : "usage.costs"),
            "window": .string(window.rawValue),
            "scope": .string(client.readsAllUsage ? "all" : "own"),
            "since": .string(UsageRecord.timestamp(seconds: since)),
            "total": .object(Self.render(total, report)),
        ]
        for (name, key) in groupings {
            var merged: [String: UsageTotals] = [:]
            for (group, totals) in groups { merged[key(group), default: UsageTotals()].merge(totals) }
            body["by_\(name)"] = .array(
                merged.sorted { $0.key < $1.key }.map { value, totals in
                    var entry: JSONObject = [name: .string(value)]
                    for member in Self.render(totals, report).members { entry[member.key] = member.value }
                    return .object(entry)
                }
            )
        }
        return .json(body)
    }

    private static func render(_ totals: UsageTotals, _ report: Report) -> JSONObject {
        switch report {
        case .stats:
            let latency: JSONObject = [
                "p50": Self.number(totals.latency.percentile(0.5)), "p90": Self.number(totals.latency.percentile(0.9)),
                "p99": Self.number(totals.latency.percentile(0.99)),
            ]
            return [
                "requests": .number(JSONNumber(totals.requests)),
                "errors": .number(JSONNumber(totals.errors)),
                "tokens": [
                    "input": .number(JSONNumber(totals.inputTokens)), "output": .number(JSONNumber(totals.outputTokens)),
                    "cached_input": .number(JSONNumber(totals.cachedInputTokens)),
                    "reasoning": .number(JSONNumber(totals.reasoningTokens)),
                ],
                "latency_ms": .object(latency),
            ]
        case .costs:
            var costs = JSONObject()
            for (currency, amount) in totals.costs.sorted(by: { $0.key < $1.key }) { costs[currency] = amount.json }
            return [
                "requests": .number(JSONNumber(totals.requests)),
                "costs": .object(costs),
                "unpriced_requests": .number(JSONNumber(totals.unpriced)),
            ]
        }
    }

    private static func number(_ value: Double?) -> JSONValue {
        value.map { .number(JSONNumber($0)) } ?? .null
    }

    private static func invalid(_ message: String, param: String) -> ServerResponse {
        .json(ProxyError(.invalidRequest, message, param: param).openAIBody.json, status: .badRequest)
    }
}
