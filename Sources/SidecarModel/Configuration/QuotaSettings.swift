//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Quotas (`quotas:`): limits for all traffic together and per client, enforced by reserving
/// each request's worst case before it is sent.
package struct QuotaSettings: Sendable, Hashable {
    /// The limits of one scope. `nil` means unlimited.
    package struct Limits: Sendable, Hashable {
        package var requestsPerMinute: Int?
        package var tokensPerMinute: Int?
        /// Spend per calendar day, by currency (`USD`, `CNY`).
        package var costPerDay: [String: Money] = [:]
        /// Spend per calendar month, by currency.
        package var costPerMonth: [String: Money] = [:]

        package init(
            requestsPerMinute: Int? = nil,
            tokensPerMinute: Int? = nil,
            costPerDay: [String: Money] = [:],
            costPerMonth: [String: Money] = [:]
        ) {
            self.requestsPerMinute = requestsPerMinute
            self.tokensPerMinute = tokensPerMinute
            self.costPerDay = costPerDay
            self.costPerMonth = costPerMonth
        }

        package var isEmpty: Bool {
            self.requestsPerMinute == nil && self.tokensPerMinute == nil && self.costPerDay.isEmpty && self.costPerMonth.isEmpty
        }
    }

    package var global = Limits()
    /// By client name. Until client tokens are configured every caller is the client `default`.
    package var clients: [String: Limits] = [:]
    /// Offset of the calendar days and months from UTC, in seconds (`+08:00` → 28 800).
    package var utcOffsetSeconds = 0
    /// Where committed spend is kept across restarts (written atomically, at most once a second
    /// and at shutdown); `nil`: only in memory.
    package var stateFile: String?
    /// Output tokens assumed for a request that sets no `max_tokens` and whose model has no
    /// `max_output_tokens` (default 4096).
    package var defaultOutputReservation = 4096

    package var isEnabled: Bool { !self.global.isEmpty || self.clients.values.contains { !$0.isEmpty } }

    /// The limits that apply to `client`: the global ones and the client's own.
    package func scopes(for client: String) -> [(scope: String, limits: Limits)] {
        var scopes: [(String, Limits)] = []
        if !self.global.isEmpty { scopes.append(("global", self.global)) }
        if let own = self.clients[client], !own.isEmpty { scopes.append(("client:\(client)", own)) }
        return scopes
    }
}
