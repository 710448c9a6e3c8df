//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension JSONValue {
    /// A token count a provider reported: the integer clamped to 0...``Usage/maximumTokens``, so
    /// sums and prices of counts can neither overflow nor go negative.
    public var tokenCount: Int? {
        self.intValue.map { min(max($0, 0), Usage.maximumTokens) }
    }
}
