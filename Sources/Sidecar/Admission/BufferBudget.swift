//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

/// One request's share of `server.max_buffered_bytes` (default 40 MiB), the process-wide bound
/// on bytes held in memory by request bodies being read and provider answers being collected.
///
/// Bytes are reserved before they are kept — a request body by its `Content-Length` (or chunk by
/// chunk), an answer piece by piece as it arrives — and given back when the request's answer
/// has been written (``ServerResponse/holding``) or, on an error, when the claim is dropped.
/// Each request is still capped on its own (`server.max_request_body`, 32 MiB per answer); this
/// bounds their sum, so a burst of large answers gets 503 instead of growing the process.
struct BufferBudget: Sendable {
    let claim: CapacityClaim
    let limit: Int

    /// An empty claim on `pool`.
    init(pool: CapacityPool, limit: Int) {
        self.claim = pool.emptyClaim()
        self.limit = limit
    }

    /// Reserves `bytes` more.
    /// - Throws: 503 `buffer_budget_exhausted` (with `Retry-After: 1`) when the process would hold
    ///   more than `limit` buffered bytes.
    func reserve(_ bytes: Int) throws(ProxyError) {
        guard self.claim.grow(by: bytes, limit: self.limit) else { throw Self.exhausted(limit: self.limit) }
    }

    /// The error a client gets when the budget is spent: retryable, the budget frees up as the
    /// answers in progress are written.
    static func exhausted(limit: Int) -> ProxyError {
        var error = ProxyError(
            .bufferBudgetExhausted,
            "The sidecar is holding its maximum of \(limit >> 20) MiB of request and answer bodies (server.max_buffered_bytes); retry shortly."
        )
        error.retryAfter = .seconds(1)
        return error
    }
}
