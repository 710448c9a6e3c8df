//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Synchronization

/// Holds the current ``RuntimeSnapshot``. Requests read it once at their start; a reload
/// swaps it atomically for later requests.
final class RuntimeStore: Sendable {
    private let snapshot: Mutex<RuntimeSnapshot>

    init(_ snapshot: RuntimeSnapshot) {
        self.snapshot = Mutex(snapshot)
    }

    var current: RuntimeSnapshot { self.snapshot.withLock { $0 } }

    func replace(with snapshot: RuntimeSnapshot) {
        self.snapshot.withLock { $0 = snapshot }
    }
}
