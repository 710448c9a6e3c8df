//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser

/// `llm-sidecar usage`: tools for the usage lines the sidecar writes.
struct UsageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Work with the usage lines the sidecar writes.",
        subcommands: [UsageReportCommand.self]
    )
}
