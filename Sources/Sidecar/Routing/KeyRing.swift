//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Synchronization

/// A provider's keys, handed out in turn so several keys share the load (and a retry after a
/// rejected key uses the next one).
final class KeyRing: Sendable {
    private let keys: [Secret]
    private let turn = Atomic(0)

    init(_ keys: [Secret]) {
        self.keys = keys
    }

    /// The next key; `nil` when the provider has none.
    func next() -> Secret? {
        guard !self.keys.isEmpty else { return nil }
        let turn = UInt(bitPattern: self.turn.wrappingAdd(1, ordering: .relaxed).oldValue)
        return self.keys[Int(turn % UInt(self.keys.count))]
    }
}
