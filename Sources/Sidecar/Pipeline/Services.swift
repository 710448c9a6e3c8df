//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SidecarModel

/// What the pipeline shares between requests: the current runtime, the usage sink (which also
/// feeds the metrics and statistics), the process-wide capacity pools, quotas, retry budget,
/// audit log and the server's lifecycle. Per-request state is a ``RequestContext``.
struct Services: Sendable {
    let store: RuntimeStore
    let usage: any UsageSink
    let logger: Logger
    /// Shared by every request, so retries stay a bounded share of all traffic.
    let retryBudget: RetryBudget
    let lifecycle: ServerLifecycle
    let metrics: SidecarMetrics
    let statistics: UsageStatistics
    /// Committed spend and reservations, shared by every request and kept across reloads.
    let quotas: any QuotaKeeper
    let audit: AuditLog
    /// The store the fleet shares (`store:`); `nil` keeps everything in this process.
    let fleet: FleetStore?
    /// Responses kept for the Responses API's conversation state (see ``ResponsesEndpoint``).
    let responses: any ResponseStore
    /// Streams admitted and not yet ended (`server.max_streams`).
    let streamSlots: CapacityPool
    /// Request bodies and provider answers held in memory (`server.max_buffered_bytes`); the
    /// HTTP server reserves request bodies in the same pool.
    let bufferedBytes: CapacityPool

    init(
        store: RuntimeStore,
        usage: any UsageSink,
        logger: Logger,
        lifecycle: ServerLifecycle = ServerLifecycle(),
        quotas: any QuotaKeeper = QuotaBook(),
        statistics: UsageStatistics = UsageStatistics(),
        audit: AuditLog = AuditLog(write: { _ in }),
        responses: any ResponseStore = InMemoryResponseStore(),
        fleet: FleetStore? = nil
    ) {
        let streamSlots = CapacityPool()
        let bufferedBytes = CapacityPool()
        let metrics = SidecarMetrics(streams: streamSlots, bufferedBytes: bufferedBytes)
        self.streamSlots = streamSlots
        self.bufferedBytes = bufferedBytes
        self.store = store
        self.usage = ObservingUsageSink(
            metrics: metrics,
            statistics: statistics,
            fleet: fleet.map(FleetStatistics.init),
            store: store,
            next: usage
        )
        self.logger = logger
        self.retryBudget = RetryBudget()
        self.lifecycle = lifecycle
        self.metrics = metrics
        self.statistics = statistics
        self.quotas = quotas
        self.audit = audit
        self.responses = responses
        self.fleet = fleet
    }

    /// The dispatcher for a request made under `snapshot`.
    func dispatcher(for snapshot: RuntimeSnapshot) -> Dispatcher {
        Dispatcher(resilience: snapshot.configuration.resilience, budget: self.retryBudget, logger: self.logger, audit: self.audit)
    }

    /// An empty share of `server.max_buffered_bytes` for collecting an answer.
    func bufferBudget(snapshot: RuntimeSnapshot) -> BufferBudget {
        BufferBudget(pool: self.bufferedBytes, limit: snapshot.configuration.server.maxBufferedBytes)
    }
}
