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
/// `&scope=fleet` answers for every pod sharing the `store:` (``FleetStatistics``; `all` is then
/// every day the store keeps, up to 400) instead of this pod (`scope=pod`, the default): 400
/// without a store, 503 `store_unavailable` when it does not answer within its timeout.
///
/// A configured client sees only its own requests (`"scope": "own"`) unless it has
/// `read_all_usage: true`; the anonymous caller (no `clients:`) sees everything (`"scope": "all"`).
struct UsageRoutes: Sendable {
    let statistics: UsageStatistics
    let fleet: FleetStatistics?

    enum Report {
        case stats
        case costs
    }

    static let groupings: [(name: String, key: @Sendable (UsageStatistics.Group) -> String)] = [
        ("model", { $0.model }), ("provider", { $0.provider }), ("task_type", { $0.taskType }), ("client", { $0.client }),
    ]

    func respond(to request: ServerRequest, report: Report, for client: ClientIdentity) async -> ServerResponse {
        let parameters = request.queryParameters
        guard let window = UsageStatistics.Window(rawValue: parameters["window"] ?? "all") else {
            return Self.invalid("window must be one of 1h, 24h, all", param: "window")
        }
        let groupings = Self.groupings.filter { parameters["group_by"] == nil || $0.name == parameters["group_by"] }
        guard !groupings.isEmpty else { return Self.invalid("group_by must be one of model, provider, task_type, client", param: "group_by") }
        let fleetwide: Bool
        switch parameters["scope"] ?? "pod" {
        case "pod": fleetwide = false
        case "fleet": fleetwide = true
        default: return Self.invalid("scope must be pod or fleet", param: "scope")
        }
        var since: Int64
        var groups: [UsageStatistics.Group: UsageTotals]
        if fleetwide {
            guard let fleet = self.fleet else { return Self.invalid("scope=fleet needs a store: section in the configuration", param: "scope") }
            do {
                (since, groups) = try await fleet.totals(over: window)
            } catch {
                let failure = ProxyError(.storeUnavailable, "The fleet's store did not answer (\(error.code)); retry shortly or use scope=pod.")
                return .json(failure.openAIBody.json, status: .serviceUnavailable)
            }
        } else {
            (since, groups) = self.statistics.totals(over: window)
        }
        if !client.readsAllUsage { groups = groups.filter { $0.key.client == client.name } }
        var total = UsageTotals()
        for totals in groups.values { total.merge(totals) }
        var body: JSONObject = [
            "object": .string(report == .stats ? "usage.stats" : "usage.costs"),
            "window": .string(window.rawValue),
            "scope": .string(client.readsAllUsage ? "all" : "own"),
            "source": .string(fleetwide ? "fleet" : "pod"),
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
