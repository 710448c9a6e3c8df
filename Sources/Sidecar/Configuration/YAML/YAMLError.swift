//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Why a document is not YAML the sidecar reads, and on which line (1-based).
struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    var line: Int
    var message: String

    var description: String { "line \(self.line): \(self.message)" }
}
