//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension SidecarMetrics {
    /// `llm_sidecar_store_available` (1 or 0) and `llm_sidecar_store_transitions_total{to}`,
    /// read from the fleet store's health at scrape time; absent without a store.
    static func storeFamilies(_ health: StoreHealth) -> [MetricFamily] {
        let state = health.snapshot
        var available = MetricFamily(
            "llm_sidecar_store_available",
            .gauge,
            help: "1 while the fleet's store (store:) answers, 0 while requests take store.on_store_failure.",
            labels: []
        )
        available.set(state.available ? 1 : 0, [])
        var transitions = MetricFamily(
            "llm_sidecar_store_transitions_total",
            .counter,
            help: "Times the fleet's store became unavailable or available again.",
            labels: ["to"]
        )
        transitions.set(Double(state.becameUnavailable), ["unavailable"])
        transitions.set(Double(state.becameAvailable), ["available"])
        return [available, transitions]
    }
}
