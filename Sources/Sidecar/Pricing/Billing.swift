//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import SidecarModel
import Translate

/// The usage and cost of one request, computed once from the provider's numbers when it sent
/// them, otherwise from the sidecar's estimate (marked `estimated`).
///
/// The price is the one in force on the request's UTC day for the deployment that served it:
/// the model's own price from `sidecar.yaml`, else the catalog's or the built-in one for that
/// deployment's vendor and provider model (see ``ModelPricing``).
struct Billing: Sendable {
    /// An amount of money.
    struct Cost: Sendable, Hashable {
        var amount: Money
        var currency: String
    }

    let usage: Usage?
    let source: UsageRecord.UsageSource
    /// `nil` when no source prices the model: unknown, never silently zero.
    let cost: Cost?

    /// - Parameters:
    ///   - providerUsage: what the provider reported, if anything.
    ///   - time: when the request was made, which selects the price in force (default: now).
    ///   - completionEstimate: estimated output tokens, used only without provider usage.
    ///   - promptEstimate: estimated prompt tokens, used only without provider usage.
    init(
        route: RouteCandidate,
        providerUsage: Usage?,
        at time: Date = Date(),
        completionEstimate: () -> Int,
        promptEstimate: () -> Int
    ) {
        if let providerUsage {
            self.usage = providerUsage
            self.source = .provider
        } else {
            self.usage = Usage(inputTokens: promptEstimate(), outputTokens: completionEstimate())
            self.source = .estimated
        }
        let price = route.model.entry.price(of: route.model, on: route.deployment, day: CalendarDay(time))
        if let price, let usage = self.usage {
            self.cost = Cost(amount: price.cost(of: usage), currency: price.currency.rawValue)
        } else {
            self.cost = nil
        }
    }

    /// Fields added to a streamed usage object: `cost` and `currency`.
    var usageFields: JSONObject {
        guard let cost = self.cost else { return [:] }
        return ["cost": cost.amount.json, "currency": .string(cost.currency)]
    }
}
