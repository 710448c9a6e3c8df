//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Translate

/// What a request holds of the sidecar's shared capacity while it runs — its `server.max_streams`
/// slot, its quota reservation, the lease of the deployment that answers — released together,
/// in one place, when the request ended.
///
/// Noncopyable, so exactly one owner holds them: the pipeline while it routes, then the stream
/// relay that outlives it. ``release(_:billing:)`` is the one release: it records the breaker
/// outcome of the deployment when the answer's body ended, settles the quota at what the request
/// used, and gives the stream slot back. Each hold is released at most once (a second release
/// finds nothing), and a path that forgot to release — a response dropped unwritten — releases
/// on `deinit` as an abandoned request: no outcome for the breaker, nothing spent.
struct RequestHoldings: ~Copyable, Sendable {
    /// The request's `server.max_streams` slot, claimed before anything is sent.
    var streamSlot: CapacityClaim?
    /// The worst case reserved against the quotas by the preflight.
    var quota: QuotaTicket?
    /// The answering deployment's concurrency slot and breaker admission.
    var lease: DeploymentLease?

    /// How a request ended, as its holds see it.
    enum Ending: Sendable {
        /// The whole answer was read from the provider.
        case completed
        /// The request failed with `error`: a failure for the breaker when the error says the
        /// deployment is unhealthy.
        case failed(ProxyError)
        /// The client left or the request was abandoned: no outcome for the breaker.
        case abandoned
    }

    init() {}

    /// Moves every hold into a new value, leaving this one empty: how the stream relay takes
    /// over from the pipeline.
    mutating func take() -> RequestHoldings {
        var taken = RequestHoldings()
        swap(&taken.streamSlot, &self.streamSlot)
        swap(&taken.quota, &self.quota)
        swap(&taken.lease, &self.lease)
        return taken
    }

    /// Releases every hold: the lease with the breaker outcome of `ending`, the quota at what
    /// `billing` says the request used (nothing without it), then the stream slot.
    func release(_ ending: Ending, billing: Billing?) {
        switch ending {
        case .completed: self.lease?.release(success: true)
        case .failed(let error): self.lease?.release(after: error)
        case .abandoned: self.lease?.release()
        }
        let tokens = billing?.usage.map { $0.inputTokens + $0.outputTokens } ?? 0
        self.quota?.settle(tokens: tokens, cost: billing?.cost?.amount, currency: billing?.cost?.currency)
        self.streamSlot?.release()
    }

    deinit {
        self.release(.abandoned, billing: nil)
    }
}
