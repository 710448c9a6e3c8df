//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

/// Receives exactly one ``UsageRecord`` per request, after its response ended.
/// Implementations must not block the caller on I/O.
protocol UsageSink: Sendable {
    func record(_ record: UsageRecord)
}
