//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import FoundationEssentials
import Logging
import NIOCore
import NIOPosix
import SidecarModel

/// `llm-sidecar serve`: loads the configuration and serves until SIGTERM/SIGINT.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the sidecar.",
        discussion: "Exits with status 1 and lists every problem when the configuration is invalid."
    )

    @Option(name: .shortAndLong, help: "The configuration file (default: $SIDECAR_CONFIG, else ./sidecar.yaml).")
    var config: String?

    @Option(help: "Listen on HOST:PORT instead of the configuration's `listen` (port 0 picks a free port).")
    var listen: String?

    func run() throws {
        let path = self.config ?? CheckConfigCommand.defaultPath
        var configuration = try CheckConfigCommand.loadOrExit(path: path)
        if let listen = self.listen {
            guard let address = ListenAddress(listen) else { throw ValidationError("--listen must be HOST:PORT, not '\(listen)'") }
            if let problem = configuration.exposureProblem(of: address) { throw ValidationError("--listen: \(problem)") }
            configuration.listen = address
        }
        // Swift concurrency runs on NIO's event loops, so a request never hops between the
        // server's threads and the concurrency pool. Must happen before any task exists.
        NIOSingletons.groupLoopCountSuggestion = configuration.server.resolvedEventLoopThreads
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        let logger = Self.bootstrapLogging(configuration.log)
        let application = SidecarApplication(configuration: configuration, configurationPath: path, logger: logger)
        try MultiThreadedEventLoopGroup.singleton.any().makeFutureWithTask {
            try await application.run()
        }.wait()
    }

    private static func bootstrapLogging(_ settings: LogSettings) -> Logger {
        LoggingSystem.bootstrap { label in
            switch settings.format {
            case .json: JSONLogHandler(label: label, level: settings.level)
            case .text:
                {
                    var handler = StreamLogHandler.standardError(label: label)
                    handler.logLevel = settings.level
                    return handler
                }()
            }
        }
        return Logger(label: "llm-sidecar")
    }
}
