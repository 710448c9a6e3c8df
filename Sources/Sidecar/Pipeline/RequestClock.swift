//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Measures one request's latency and time to first chunk on the monotonic clock.
struct RequestClock: Sendable {
    let start = ContinuousClock.now

    /// Milliseconds since the request arrived.
    var elapsedMilliseconds: Double {
        let (seconds, attoseconds) = (ContinuousClock.now - self.start).components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
