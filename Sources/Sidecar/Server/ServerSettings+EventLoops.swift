//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import SidecarModel

extension ServerSettings {
    /// The thread count to start: the configured one, or the automatic choice (one per available
    /// core as NIO counts them, honouring cgroup CPU limits, and at most 2).
    var resolvedEventLoopThreads: Int { self.eventLoopThreads ?? min(2, System.coreCount) }
}
