//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Synchronization
import Translate

/// The sidecar's Prometheus metrics (`GET /metrics`).
///
/// Request metrics are derived from the usage records — one per request, through
/// ``ObservingUsageSink`` — so the metrics and the usage lines can never disagree. OpenTelemetry
/// GenAI names are used where they exist (`gen_ai_client_operation_duration_seconds`,
/// `gen_ai_client_token_usage`, `gen_ai_server_time_to_first_token_seconds`), the sidecar's own
/// under `llm_sidecar_`. Health (breakers, in-flight load) is read from the deployments at
/// scrape time. Updating costs one lock per request, none per stream chunk.
final class SidecarMetrics: Sendable {
    private let families: Mutex<[MetricFamily]>
    private let streams: CapacityPool
    private let bufferedBytes: CapacityPool

    /// OpenTelemetry's advised buckets for GenAI durations (seconds) and token counts.
    static let durationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
    static let firstTokenBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
    static let tokenBuckets: [Double] = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262_144, 1_048_576, 4_194_304]

    private enum Index: Int, CaseIterable {
        case requests, duration, tokenUsage, firstToken, tokens, cost, retries, failures, skips, fallbacks, reloads
    }

    /// - Parameters:
    ///   - streams: the `server.max_streams` slots, read at scrape time.
    ///   - bufferedBytes: the `server.max_buffered_bytes` pool, read at scrape time.
    init(streams: CapacityPool, bufferedBytes: CapacityPool) {
        self.streams = streams
        self.bufferedBytes = bufferedBytes
        let genAI = ["gen_ai_operation_name", "gen_ai_request_model", "gen_ai_provider_name"]
        self.families = Mutex(
            Index.allCases.map { index in
                switch index {
                case .requests:
                    MetricFamily(
                        "llm_sidecar_requests_total",
                        .counter,
                        help: "Requests by API, operation, model, provider, HTTP status and outcome.",
                        labels: ["api", "operation", "model", "provider", "status", "outcome"]
                    )
                case .duration:
                    MetricFamily(
                        "gen_ai_client_operation_duration_seconds",
                        .histogram,
                        help: "Time from request to the end of the answer.",
                        labels: genAI + ["error_type"],
                        buckets: Self.durationBuckets
                    )
                case .tokenUsage:
                    MetricFamily(
                        "gen_ai_client_token_usage",
                        .histogram,
                        help: "Tokens per request by type (input, output).",
                        labels: genAI + ["gen_ai_token_type"],
                        buckets: Self.tokenBuckets
                    )
                case .firstToken:
                    MetricFamily(
                        "gen_ai_server_time_to_first_token_seconds",
                        .histogram,
                        help: "Time from request to the first streamed bytes sent to the client.",
                        labels: ["gen_ai_request_model", "gen_ai_provider_name"],
                        buckets: Self.firstTokenBuckets
                    )
                case .tokens:
                    MetricFamily(
                        "llm_sidecar_tokens_total",
                        .counter,
                        help: "Tokens by model, provider and kind (input, output, cached_input, cache_creation, reasoning).",
                        labels: ["model", "provider", "type"]
                    )
                case .cost:
                    MetricFamily(
                        "llm_sidecar_cost_total",
                        .counter,
                        help: "Cost of answered requests by model and currency.",
                        labels: ["model", "currency"]
                    )
                case .retries:
                    MetricFamily(
                        "llm_sidecar_retries_total",
                        .counter,
                        help: "Provider attempts beyond the first, by model requested.",
                        labels: ["model"]
                    )
                case .failures:
                    MetricFamily(
                        "llm_sidecar_upstream_failures_total",
                        .counter,
                        help: "Failed provider attempts by deployment and error.",
                        labels: ["deployment", "reason"]
                    )
                case .skips:
                    MetricFamily(
                        "llm_sidecar_deployments_skipped_total",
                        .counter,
                        help: "Deployments passed over by deployment and reason (breaker_open, busy, no_key, …).",
                        labels: ["deployment", "reason"]
                    )
                case .fallbacks:
                    MetricFamily(
                        "llm_sidecar_fallbacks_total",
                        .counter,
                        help: "Requests served by a fallback model, by the model that served.",
                        labels: ["model"]
                    )
                case .reloads:
                    MetricFamily(
                        "llm_sidecar_config_reloads_total",
                        .counter,
                        help: "Configuration reloads by result (applied, rejected).",
                        labels: ["result"]
                    )
                }
            }
        )
    }

    /// Streams admitted and not yet ended.
    var streamsInFlight: Int { self.streams.inUse }

    func configurationReloaded(applied: Bool) {
        self.families.withLock { $0[Index.reloads.rawValue].add(1, [applied ? "applied" : "rejected"]) }
    }

    /// Folds one finished request into the metrics.
    func observe(_ record: UsageRecord) {
        let model = record.modelEntry ?? "none"
        let provider = record.provider ?? "none"
        self.families.withLock { families in
            families[Index.requests.rawValue].add(1, [record.api, record.operation, model, provider, String(record.status), record.outcome.rawValue])
            families[Index.duration.rawValue].observe(record.latencyMilliseconds / 1000, [record.operation, model, provider, record.errorType ?? ""])
            if let usage = record.usage {
                families[Index.tokenUsage.rawValue].observe(Double(usage.inputTokens), [record.operation, model, provider, "input"])
                families[Index.tokenUsage.rawValue].observe(Double(usage.outputTokens), [record.operation, model, provider, "output"])
                let kinds = [
                    ("input", usage.inputTokens), ("output", usage.outputTokens), ("cached_input", usage.cachedInputTokens),
                    ("cache_creation", usage.cacheCreationInputTokens), ("reasoning", usage.reasoningTokens),
                ]
                for (kind, count) in kinds where count > 0 { families[Index.tokens.rawValue].add(Double(count), [model, provider, kind]) }
            }
            if record.stream, let firstChunk = record.timeToFirstChunkMilliseconds {
                families[Index.firstToken.rawValue].observe(firstChunk / 1000, [model, provider])
            }
            if let cost = record.cost, let currency = record.currency { families[Index.cost.rawValue].add(cost.doubleValue, [model, currency]) }
            if record.attempts > 1 { families[Index.retries.rawValue].add(Double(record.attempts - 1), [record.modelEntry ?? "none"]) }
            for decision in record.routeDecisions {
                switch decision.outcome {
                case .failed: families[Index.failures.rawValue].add(1, [decision.deployment, decision.reason ?? "unknown"])
                case .skipped: families[Index.skips.rawValue].add(1, [decision.deployment, decision.reason ?? "unknown"])
                case .served: break
                }
            }
            if record.routeRole == RoutePlan.Role.fallback.rawValue { families[Index.fallbacks.rawValue].add(1, [model]) }
        }
    }

    /// Every metric in the Prometheus text format, with the deployments' health and load and
    /// the process's own figures read now.
    func render(deployments: [Deployment], ready: Bool, quotas: [(key: QuotaLedger.Key, remaining: Int64)]) -> String {
        var text = ""
        for family in self.families.withLock({ $0 }) { family.render(into: &text) }
        for family in self.scrapeTimeFamilies(deployments: deployments, ready: ready) { family.render(into: &text) }
        Self.quotaFamily(quotas).render(into: &text)
        return text
    }

    /// What is left of each configured quota in its current window (money in the currency).
    private static func quotaFamily(_ quotas: [(key: QuotaLedger.Key, remaining: Int64)]) -> MetricFamily {
        var family = MetricFamily(
            "llm_sidecar_quota_remaining",
            .gauge,
            help: "What is left of each quota in its current window, reservations in flight deducted.",
            labels: ["scope", "quota", "currency"]
        )
        for (key, remaining) in quotas {
            switch key.kind {
            case .requestsPerMinute: family.set(Double(remaining), [key.scope, "requests_per_minute", ""])
            case .tokensPerMinute: family.set(Double(remaining), [key.scope, "tokens_per_minute", ""])
            case .costPerDay(let currency): family.set(Money(picos: remaining).doubleValue, [key.scope, "cost_per_day", currency])
            case .costPerMonth(let currency): family.set(Money(picos: remaining).doubleValue, [key.scope, "cost_per_month", currency])
            }
        }
        return family
    }

    private func scrapeTimeFamilies(deployments: [Deployment], ready: Bool) -> [MetricFamily] {
        let now = ContinuousClock.now
        var state = MetricFamily(
            "llm_sidecar_breaker_state",
            .gauge,
            help: "1 for each deployment's current circuit-breaker state (closed, open, half_open).",
            labels: ["deployment", "state"]
        )
        var transitions = MetricFamily(
            "llm_sidecar_breaker_transitions_total",
            .counter,
            help: "Circuit-breaker changes by deployment and new state.",
            labels: ["deployment", "state"]
        )
        var inFlight = MetricFamily(
            "llm_sidecar_deployment_requests_in_flight",
            .gauge,
            help: "Requests in flight per deployment, streams included.",
            labels: ["deployment"]
        )
        for deployment in deployments {
            let current = deployment.breaker.state(at: now)
            for candidate in [CircuitBreaker.State.closed, .open, .halfOpen] {
                state.set(candidate == current ? 1 : 0, [deployment.id, candidate.rawValue])
            }
            for (changed, count) in deployment.breakerTransitions { transitions.set(Double(count), [deployment.id, changed.rawValue]) }
            inFlight.set(Double(deployment.inFlight), [deployment.id])
        }
        var streams = MetricFamily("llm_sidecar_streams_in_flight", .gauge, help: "Streams admitted and not yet ended.", labels: [])
        streams.set(Double(self.streamsInFlight), [])
        var buffered = MetricFamily(
            "llm_sidecar_buffered_bytes",
            .gauge,
            help: "Bytes of request bodies and provider answers held in memory (server.max_buffered_bytes).",
            labels: []
        )
        buffered.set(Double(self.bufferedBytes.inUse), [])
        var readiness = MetricFamily("llm_sidecar_ready", .gauge, help: "1 while /readyz answers ready.", labels: [])
        readiness.set(ready ? 1 : 0, [])
        return [state, transitions, inFlight, streams, buffered, readiness] + ProcessStatistics.read().families
    }
}

/// Where every request's one usage record is observed: it feeds the metrics and the usage
/// statistics, then passes the record on to be written. Reading usage only — what the request
/// held (its quota reservation among them) was settled by the pipeline when it ended.
struct ObservingUsageSink: UsageSink {
    let metrics: SidecarMetrics
    let statistics: UsageStatistics
    /// The fleet's statistics on the store, when one is configured.
    let fleet: FleetStatistics?
    /// The current configuration names the labels the statistics keep.
    let store: RuntimeStore
    let next: any UsageSink

    func record(_ record: UsageRecord) {
        let configuration = self.store.current.configuration
        self.metrics.observe(record)
        self.statistics.observe(record, configuration: configuration)
        self.fleet?.observe(record, configuration: configuration)
        self.next.record(record)
    }
}
