//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Synchronization

/// Where quota use is counted: this process (``QuotaBook``) or every pod of the fleet together
/// (``FleetQuotaBook``, on the `store:`). Both reserve a request's worst case before it is sent
/// and settle what it used when it ends.
protocol QuotaKeeper: Sendable {
    /// Reserves a request's worst case, or answers why not (429 `quota_exceeded`; 503
    /// `quota_store_unavailable` under `on_store_failure: deny`).
    func reserve(_ demand: QuotaLedger.Demand, settings: QuotaSettings, client: String) async -> Result<QuotaTicket, ProxyError>
    /// What is left of each limit now, for metrics: limit − committed − reserved.
    func remaining(settings: QuotaSettings, clients: [String]) async -> [(key: QuotaLedger.Key, remaining: Int64)]
}

/// An admitted request's hold on the quotas. Settled once with what the request used — by the
/// usage sink, from the request's one usage record — or, if that never happens, released as
/// unused when the ticket goes away.
final class QuotaTicket: Sendable {
    private let settlement: Mutex<(@Sendable (QuotaLedger.Demand) -> Void)?>

    /// A ticket that settles through `settle`, once; without it, one that holds nothing.
    init(settle: (@Sendable (QuotaLedger.Demand) -> Void)? = nil) {
        self.settlement = Mutex(settle)
    }

    func settle(tokens: Int, cost: Money?, currency: String?) {
        guard let settle = self.settlement.withLock({ $0.take() }) else { return }
        var costs: [String: Money] = [:]
        if let cost, let currency { costs[currency] = cost }
        settle(QuotaLedger.Demand(tokens: tokens, costs: costs))
    }

    deinit {
        self.settle(tokens: 0, cost: nil, currency: nil)
    }
}
