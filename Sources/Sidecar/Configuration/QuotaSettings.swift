//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Quotas (`quotas:`): limits for all traffic together and per client, enforced by reserving
/// each request's worst case before it is sent.
struct QuotaSettings: Sendable, Hashable {
    /// The limits of one scope. `nil` means unlimited.
    struct Limits: Sendable, Hashable {
        var requestsPerMinute: Int?
        var tokensPerMinute: Int?
        /// Spend per calendar day, by currency (`USD`, `CNY`).
        var costPerDay: [String: Money] = [:]
        /// Spend per calendar month, by currency.
        var costPerMonth: [String: Money] = [:]

        var isEmpty: Bool {
            self.requestsPerMinute == nil && self.tokensPerMinute == nil && self.costPerDay.isEmpty && self.costPerMonth.isEmpty
        }
    }

    var global = Limits()
    /// By client name. Until client tokens are configured every caller is the client `default`.
    var clients: [String: Limits] = [:]
    /// Offset of the calendar days and months from UTC, in seconds (`+08:00` → 28 800).
    var utcOffsetSeconds = 0
    /// Where committed spend is kept across restarts (written atomically, at most once a second
    /// and at shutdown); `nil`: only in memory.
    var stateFile: String?
    /// Output tokens assumed for a request that sets no `max_tokens` and whose model has no
    /// `max_output_tokens` (default 4096).
    var defaultOutputReservation = 4096

    var isEnabled: Bool { !self.global.isEmpty || self.clients.values.contains { !$0.isEmpty } }

    /// The limits that apply to `client`: the global ones and the client's own.
    func scopes(for client: String) -> [(scope: String, limits: Limits)] {
        var scopes: [(String, Limits)] = []
        if !self.global.isEmpty { scopes.append(("global", self.global)) }
        if let own = self.clients[client], !own.isEmpty { scopes.append(("client:\(client)", own)) }
        return scopes
    }
}
