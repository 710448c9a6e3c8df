//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One thing wrong with a configuration file, located by file, line and field path.
package struct ConfigurationProblem: Sendable, Hashable, CustomStringConvertible {
    package var file: String
    package var line: Int?
    /// The dotted path of the field (`providers.deepseek.base_url`); empty for the whole file.
    package var field: String
    package var message: String

    package init(file: String, line: Int? = nil, field: String, message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    package var description: String {
        let location = self.line.map { "\(self.file):\($0)" } ?? self.file
        return self.field.isEmpty ? "\(location): \(self.message)" : "\(location): \(self.field): \(self.message)"
    }
}

/// A configuration that cannot be used, with every problem found in it (not just the first).
package struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    package var problems: [ConfigurationProblem]

    package init(problems: [ConfigurationProblem]) {
        self.problems = problems
    }

    package var description: String {
        let noun = self.problems.count == 1 ? "problem" : "problems"
        return (["invalid configuration (\(self.problems.count) \(noun)):"] + self.problems.map { "  \($0)" }).joined(separator: "\n")
    }
}
