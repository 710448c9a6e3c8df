//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel
import Synchronization

/// A response body made of pieces known in advance, handed out one per read with an optional
/// pause before each piece after the first. Used by the demo model and by in-memory upstreams.
final class PreparedBody: UpstreamBodySource {
    private let pieces: [[UInt8]]
    private let delay: Duration
    /// The next piece to hand out; `nil` once cancelled.
    private let position = Mutex<Int?>(0)

    init(pieces: [[UInt8]], delay: Duration = .zero) {
        self.pieces = pieces
        self.delay = delay
    }

    func next() async throws(ProxyError) -> [UInt8]? {
        guard let index = self.position.withLock({ $0 }) else { throw Self.cancelled }
        guard index < self.pieces.count else { return nil }
        if index > 0, self.delay > .zero {
            do {
                try await Task.sleep(for: self.delay)
            } catch {
                throw Self.cancelled
            }
        }
        let advanced = self.position.withLock { position in
            guard position != nil else { return false }
            position = index + 1
            return true
        }
        guard advanced else { throw Self.cancelled }
        return self.pieces[index]
    }

    func cancel() {
        self.position.withLock { $0 = nil }
    }

    private static let cancelled = ProxyError(.cancelled, "The response body was cancelled.")
}
