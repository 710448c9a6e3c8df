//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

/// Orders a model's deployments for one request according to its ``BalanceStrategy``.
enum Balancer {
    static func order(
        _ deployments: [DeploymentChoice],
        by strategy: BalanceStrategy,
        using random: inout some RandomNumberGenerator
    ) -> [DeploymentChoice] {
        switch strategy {
        case .priority:
            return deployments
        case .weighted:
            return self.weightedOrder(deployments, using: &random)
        case .leastInFlight:
            let loads = deployments.map(\.state.inFlight)
            return zip(deployments, loads).enumerated().sorted { ($0.element.1, $0.offset) < ($1.element.1, $1.offset) }.map(\.element.0)
        case .lowestLatency:
            // Unmeasured deployments (latency -1) come first, so each one gets measured.
            let latencies = deployments.map { $0.state.latencyMilliseconds ?? -1 }
            return zip(deployments, latencies).enumerated().sorted { ($0.element.1, $0.offset) < ($1.element.1, $1.offset) }.map(\.element.0)
        }
    }

    /// A random order in which each deployment comes first with probability weight ÷ total.
    private static func weightedOrder(_ deployments: [DeploymentChoice], using random: inout some RandomNumberGenerator) -> [DeploymentChoice] {
        var remaining = deployments
        var ordered: [DeploymentChoice] = []
        while !remaining.isEmpty {
            let total = remaining.reduce(0) { $0 + $1.configuration.weight }
            var pick = Int.random(in: 0..<total, using: &random)
            let index = remaining.firstIndex { deployment in
                pick -= deployment.configuration.weight
                return pick < 0
            }!  // pick < total, so some prefix of weights exceeds it
            ordered.append(remaining.remove(at: index))
        }
        return ordered
    }
}
