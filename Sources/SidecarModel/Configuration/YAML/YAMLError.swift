//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Why a document is not YAML the sidecar reads, on which line (1-based) and under which field.
package struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    package var line: Int
    package var message: String
    /// The dotted path of the entry being read (`providers.deepseek.headers`, `routes[0]`);
    /// empty at the top level.
    package var field = ""

    package var description: String {
        self.field.isEmpty ? "line \(self.line): \(self.message)" : "line \(self.line): \(self.field): \(self.message)"
    }
}
