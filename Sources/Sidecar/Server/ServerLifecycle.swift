//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Synchronization

/// Where the sidecar is in its life, read by `/readyz` and by requests cut at shutdown.
///
/// Valid transitions: serving → draining (SIGTERM: readiness turns false at once, in-flight
/// work goes on) → cut off (the drain deadline passed: remaining requests and streams end
/// with a `shutting_down` error).
final class ServerLifecycle: Sendable {
    private enum Phase: Int {
        case serving
        case draining
        case cutOff
    }

    private let phase = Atomic(Phase.serving.rawValue)

    var isDraining: Bool { self.phase.load(ordering: .acquiring) >= Phase.draining.rawValue }
    var isCutOff: Bool { self.phase.load(ordering: .acquiring) == Phase.cutOff.rawValue }

    func beginDraining() {
        _ = self.phase.compareExchange(expected: Phase.serving.rawValue, desired: Phase.draining.rawValue, ordering: .acquiringAndReleasing)
    }

    func cutOff() {
        self.phase.store(Phase.cutOff.rawValue, ordering: .releasing)
    }

    /// The error for work ended by the drain deadline.
    static let shuttingDown = ProxyError(.shuttingDown, "The sidecar is shutting down and its drain deadline passed; retry the request.")
}
