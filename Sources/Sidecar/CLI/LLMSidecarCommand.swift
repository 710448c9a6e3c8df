//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

public import ArgumentParser

/// `llm-sidecar`: the command-line entry point, run by the `SidecarCLI` executable's `main.swift`.
public struct LLMSidecarCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "llm-sidecar",
        abstract: "A localhost proxy that lets OpenAI SDK clients use OpenAI, DeepSeek, Qwen and other providers.",
        subcommands: [ServeCommand.self, CheckConfigCommand.self, TokenCommand.self, AuditCommand.self, UsageCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    public init() {}
}
