//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import FoundationEssentials
import SidecarModel

/// `llm-sidecar check-config`: validates a configuration without serving.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and report every problem in it.",
        discussion: "Exits with status 0 when the file is valid (warnings are printed), 1 otherwise."
    )

    /// `$SIDECAR_CONFIG`, else `sidecar.yaml` in the working directory.
    static var defaultPath: String { ProcessInfo.processInfo.environment["SIDECAR_CONFIG"] ?? "sidecar.yaml" }

    @Argument(help: "The configuration file (default: $SIDECAR_CONFIG, else ./sidecar.yaml).")
    var path: String?

    @Flag(help: "Also list each deployment's price today per million tokens, and where it comes from.")
    var prices = false

    func run() throws {
        let path = self.path ?? Self.defaultPath
        let configuration = try Self.loadOrExit(path: path)
        for warning in configuration.warnings {
            print("warning: \(warning)")
        }
        let providers = configuration.providers.count
        let models = configuration.models.allEntries.count
        print("\(path): OK (\(providers) providers, \(models) models, listening on \(configuration.listen))")
        if self.prices { print(Self.priceTable(configuration, on: CalendarDay(Date())), terminator: "") }
    }

    /// Loads the configuration, or prints every problem to standard error and exits with status 1.
    static func loadOrExit(path: String) throws -> SidecarConfiguration {
        do {
            return try SidecarConfiguration.load(path: path)
        } catch let error as ConfigurationError {
            StandardError.write(error.description + "\n")
            throw ExitCode.failure
        }
    }
}
