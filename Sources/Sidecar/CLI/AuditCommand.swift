//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser

/// `llm-sidecar audit verify FILE`: checks an audit chain and names the first broken line.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Work with audit lines.", subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the hash chain of the audit lines in a file (other lines are skipped).",
            discussion: "Exits 0 when the chain is intact, 1 naming the first edited, deleted or reordered line."
        )

        @Argument(help: "A file with audit lines, e.g. the usage sink or saved `kubectl logs` output.")
        var file: String

        func run() throws {
            do {
                let summary = try AuditVerifier.verify(file: self.file)
                print("\(self.file): OK (\(summary.auditLines) audit lines, \(summary.chains) chain start\(summary.chains == 1 ? "" : "s"))")
            } catch {
                StandardError.write("\(self.file): broken at \(error)\n")
                throw ExitCode(1)
            }
        }
    }
}
