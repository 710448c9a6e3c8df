//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Where the store is and how to log in.
///
/// `credentials` is called on every connect and reconnect, so a rotated password is used by the next
/// connection; it is a closure, so printing an endpoint never prints the password. With a password,
/// `AUTH [username] password` is sent on connect (a username without a password sends nothing: the
/// server's default user); with a `database` other than 0, `SELECT database`.
struct RedisEndpoint: Sendable {
    var host: String
    var port: Int
    var database: Int
    var credentials: @Sendable () -> (username: String?, password: String?)
    /// TLS (`rediss://`) with this context, its certificate checked against `host`; `nil`: plain TCP.
    var tls: TLSClientContext?

    init(
        host: String,
        port: Int,
        database: Int = 0,
        tls: TLSClientContext? = nil,
        credentials: @escaping @Sendable () -> (username: String?, password: String?) = { (nil, nil) }
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.tls = tls
        self.credentials = credentials
    }

    /// The login commands for the current credentials, each with its name for messages.
    func loginCommands() -> [(name: String, command: [RedisArgument])] {
        var commands: [(name: String, command: [RedisArgument])] = []
        let (username, password) = self.credentials()
        if let password {
            let user = username.map { [RedisArgument($0)] } ?? []
            commands.append(("AUTH", ["AUTH"] + user + [RedisArgument(password)]))
        }
        if self.database != 0 {
            commands.append(("SELECT", ["SELECT", RedisArgument(Int64(self.database))]))
        }
        return commands
    }
}
