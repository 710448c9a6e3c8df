//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import SidecarModel
import Translate

/// Checks a plan before anything is sent: drops candidates whose context window cannot hold the
/// request, then reserves the worst case of what remains against the quotas — dropping
/// candidates from the front (`over_quota`) while a cheaper fallback would still fit.
///
/// The worst case of a candidate is the estimated prompt plus `n` times its output limit — the
/// request's `max_tokens`, else the model's `max_output_tokens`, else the room left in its context
/// window, else `quotas.default_output_reservation` (4096) — at the model's price, without
/// cache discounts. The reservation covers the most expensive of the remaining candidates (per
/// currency), so failing over can never spend more than was reserved.
struct Preflight {
    let services: Services
    let snapshot: RuntimeSnapshot

    /// What a request needs: its estimated prompt and, for chat, the output it asks for.
    struct Need {
        var promptTokens: Int
        /// `max_tokens` / `max_completion_tokens`; `nil` when the request sets none.
        var requestedOutput: Int?
        /// How many choices are generated (`n`), each up to the output limit.
        var choices = 1
        /// Whether output tokens are generated at all (not for embeddings).
        var generates: Bool
    }

    /// The candidates that can take the request, and its quota reservation (`nil` without quotas).
    func admit(_ plan: RoutePlan, need: Need, context: inout RequestContext) async throws(ProxyError) -> (RoutePlan, QuotaTicket?) {
        var steps = try self.fittingContext(plan, need: need, context: &context)
        let settings = self.snapshot.configuration.quotas
        guard settings.isEnabled else { return (RoutePlan(taskType: plan.taskType, steps: steps), nil) }
        var firstDenial: ProxyError?
        while !steps.isEmpty {
            switch await self.services.quotas.reserve(
                self.worstCase(of: steps, need: need, settings: settings),
                settings: settings,
                client: context.client.name
            ) {
            case .success(let ticket):
                return (RoutePlan(taskType: plan.taskType, steps: steps), ticket)
            case .failure(let denial):
                firstDenial = firstDenial ?? denial
                let dropped = steps.removeFirst()
                context.decisions.append(
                    RouteDecision(model: dropped.model.name, deployment: dropped.model.name, outcome: .skipped, reason: "over_quota")
                )
            }
        }
        throw self.denied(firstDenial ?? ProxyError(.quotaExceeded, "Quota exceeded."), client: context.client.name)
    }

    /// Admits a request whose use cannot be priced before it is sent (passthrough): it counts
    /// against `requests_per_minute` like any request, and is refused once any token or cost
    /// limit of its scopes is used up — it reserves one token and one picounit of each limited
    /// currency, and settles at what its usage line records (no tokens, no cost).
    func admitUnpriced(context: RequestContext) async throws(ProxyError) -> QuotaTicket? {
        let settings = self.snapshot.configuration.quotas
        guard settings.isEnabled else { return nil }
        var demand = QuotaLedger.Demand(tokens: 1)
        for (_, limits) in settings.scopes(for: context.client.name) {
            for currency in Set(limits.costPerDay.keys).union(limits.costPerMonth.keys) { demand.costs[currency] = Money(picos: 1) }
        }
        switch await self.services.quotas.reserve(demand, settings: settings, client: context.client.name) {
        case .success(let ticket): return ticket
        case .failure(let denial): throw self.denied(denial, client: context.client.name)
        }
    }

    /// `denial`, audited.
    private func denied(_ denial: ProxyError, client: String) -> ProxyError {
        self.services.audit.record("quota_denied", ["client": .string(client), "message": .string(denial.message)])
        return denial
    }

    /// The plan without candidates whose context window is too small; 400 when none is left.
    private func fittingContext(_ plan: RoutePlan, need: Need, context: inout RequestContext) throws(ProxyError) -> [RoutePlan.Step] {
        let fitting = plan.steps.filter { step in
            guard let window = step.model.entry.contextWindow else { return true }
            let fits = need.promptTokens + (need.requestedOutput ?? 0) <= window
            if !fits {
                context.decisions.append(
                    RouteDecision(model: step.model.name, deployment: step.model.name, outcome: .skipped, reason: "context_window")
                )
            }
            return fits
        }
        guard fitting.isEmpty, let largest = plan.steps.compactMap(\.model.entry.contextWindow).max() else { return fitting }
        let output = need.requestedOutput.map { " plus max_tokens \($0)" } ?? ""
        throw ProxyError(
            .contextLengthExceeded,
            "The request (about \(need.promptTokens) prompt tokens\(output)) does not fit the context window of any candidate (largest: \(largest) tokens).",
            param: need.requestedOutput == nil ? "messages" : "max_tokens"
        )
    }

    /// The most any of `steps` can cost and use: tokens, and money per currency.
    private func worstCase(of steps: [RoutePlan.Step], need: Need, settings: QuotaSettings) -> QuotaLedger.Demand {
        var demand = QuotaLedger.Demand(tokens: 0)
        let today = CalendarDay(Date())
        for step in steps {
            let output = need.generates ? self.outputLimit(of: step.model.entry, need: need, settings: settings) * need.choices : 0
            demand.tokens = max(demand.tokens, need.promptTokens + output)
            for deployment in step.deployments {
                guard let price = step.model.entry.price(of: step.model, on: deployment, day: today) else { continue }
                let cost = price.cost(of: Usage(inputTokens: need.promptTokens, outputTokens: output))
                demand.costs[price.currency.rawValue] = max(demand.costs[price.currency.rawValue] ?? Money(picos: 0), cost)
            }
        }
        return demand
    }

    private func outputLimit(of model: ModelEntry, need: Need, settings: QuotaSettings) -> Int {
        if let requested = need.requestedOutput { return requested }
        if let limit = model.maxOutputTokens { return limit }
        if let window = model.contextWindow { return max(0, window - need.promptTokens) }
        return settings.defaultOutputReservation
    }
}
