//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Synchronization
import Testing

@testable import Sidecar

#if canImport(Glibc)
import Glibc
#endif

/// The Redis client against a real `redis-server` (started by each test on a free loopback port), and
/// against sockets that misbehave on purpose.
@Suite struct RedisClientTests {
    @Test func setThenGet() async throws {
        try await Self.withRedis { server, client in
            let replies = try await client.pipeline([["SET", "greeting", "hello\r\nPING"], ["GET", "greeting"], ["GET", "absent"]])
            #expect(replies == [.simpleString("OK"), .bulkString(Array("hello\r\nPING".utf8)), .bulkString(nil)])
            #expect(try await client.pipeline([["NOSUCHCOMMAND"]]).first?.errorMessage?.hasPrefix("ERR unknown command") == true)
        }
    }

    /// CR and LF inside an argument are data: they cannot end the command and start another.
    @Test func lineBreaksInArgumentsCannotInjectCommands() async throws {
        try await Self.withRedis { server, client in
            let key = "k\r\nSET injected yes\r\n"
            let replies = try await client.pipeline([
                ["SET", RedisArgument(key), "v\r\nFLUSHALL\r\n"], ["GET", RedisArgument(key)], ["EXISTS", "injected"],
            ])
            #expect(replies == [.simpleString("OK"), .bulkString(Array("v\r\nFLUSHALL\r\n".utf8)), .integer(0)])
        }
    }

    @Test func aThousandCommandsInOnePipeline() async throws {
        try await Self.withRedis { server, client in
            let commands: [[RedisArgument]] = (0..<500).flatMap { index -> [[RedisArgument]] in
                [["SET", RedisArgument("key\(index)"), RedisArgument(Int64(index))], ["GET", RedisArgument("key\(index)")]]
            }
            let replies = try await client.pipeline(commands)
            #expect(replies.count == 1000)
            #expect(replies == (0..<500).flatMap { [.simpleString("OK"), .bulkString(Array("\($0)".utf8))] })
        }
    }

    /// 200 callers at once: each gets its own reply (INCR's distinct values), all on one connection
    /// (one `CLIENT ID`).
    @Test func concurrentCallersEachGetTheirOwnReply() async throws {
        try await Self.withRedis { server, client in
            let replies = try await withThrowingTaskGroup(of: [RESPValue].self) { group in
                for _ in 0..<200 { group.addTask { try await client.pipeline([["INCR", "counter"], ["CLIENT", "ID"]]) } }
                return try await group.reduce(into: [[RESPValue]]()) { $0.append($1) }
            }
            #expect(replies.compactMap { $0.first?.integer }.sorted() == Array(1...200))
            #expect(Set(replies.compactMap { $0.last?.integer }).count == 1)
        }
    }

    @Test func scriptsRunBySHAAndAreReloadedAfterAFlush() async throws {
        try await Self.withRedis { server, client in
            let count = RedisScript("return {KEYS[1], ARGV[1], redis.call('INCR', KEYS[1])}")
            let echo = RedisScript("return ARGV[1]")
            #expect(try await client.pipeline([count.load]) == [.bulkString(Array(count.sha1.utf8))], "the server's SHA-1 is ours")
            for round in 1...3 {
                if round == 2 { #expect(try await client.pipeline([["SCRIPT", "FLUSH"]]) == [.simpleString("OK")]) }
                let replies = try await client.run([(count, ["a"], ["x"]), (echo, [], ["y\r\n"]), (count, ["a"], ["z"])])
                let first = Int64(round * 2 - 1)
                #expect(
                    replies == [
                        .array([.bulkString(Array("a".utf8)), .bulkString(Array("x".utf8)), .integer(first)]),
                        .bulkString(Array("y\r\n".utf8)),
                        .array([.bulkString(Array("a".utf8)), .bulkString(Array("z".utf8)), .integer(first + 1)]),
                    ],
                    "round \(round): each script ran exactly once per call"
                )
            }
            #expect(try await client.run([(RedisScript("return redis.call('NOSUCH')"), [], [])]).first?.errorMessage != nil)
        }
    }

    @Test func logsInWithPasswordUsernameAndDatabase() async throws {
        let password = "default-Pa55-\(UUID().uuidString)"
        try await Self.withRedis(arguments: ["--requirepass", password], password: password) { server, admin in
            let created = try await admin.pipeline([["ACL", "SETUSER", "alice", "on", ">alice-secret", "~*", "+@all"]])
            #expect(created == [.simpleString("OK")])
            let alice = Self.client(port: server.port, database: 3, username: "alice", password: "alice-secret")
            let written = try await alice.pipeline([["ACL", "WHOAMI"], ["SET", "where", "three"]])
            #expect(written == [.bulkString(Array("alice".utf8)), .simpleString("OK")])
            let elsewhere = try await admin.pipeline([["GET", "where"]])
            #expect(elsewhere == [.bulkString(nil)], "database 0 lacks it")
            let read = try await alice.pipeline([["GET", "where"]])
            #expect(read == [.bulkString(Array("three".utf8))])
            await alice.shutdown()
        }
    }

    /// A refused login is a `store_unavailable` error that names the server's code and never the
    /// password; the credentials are read again on reconnect, so a rotated password takes effect.
    @Test func aWrongPasswordFailsWithoutShowingItAndARotatedOneIsUsed() async throws {
        let password = "right-Pa55-\(UUID().uuidString)"
        let wrong = "wrong-Pa55-\(UUID().uuidString)"
        try await Self.withRedis(arguments: ["--requirepass", password], password: password) { server, _ in
            let current = Mutex(wrong)
            let endpoint = RedisEndpoint(host: "127.0.0.1", port: server.port, database: 0) { (nil, current.withLock { $0 }) }
            let client = RedisClient(endpoint: endpoint, connectTimeout: .seconds(2), timeout: .seconds(2))
            let error = try await #require(throws: RedisError.self) { try await client.pipeline([["PING"]]) }
            #expect(error.code == "store_unavailable")
            #expect(error.message.contains("refused AUTH: WRONGPASS"))
            for text in [error.message, "\(error)", String(reflecting: error), "\(endpoint)"] {
                #expect(!text.contains(wrong) && !text.contains(password), "\(text)")
            }
            current.withLock { $0 = password }
            #expect(try await client.pipeline([["PING"]]) == [.simpleString("PONG")])
            await client.shutdown()
        }
    }

    /// A server that accepts but never answers: `store_timeout` after about the timeout, again on a
    /// new connection when called again at once; then the same client reconnects to a real server on
    /// that port.
    @Test func aSilentServerTimesOutAndTheNextCallReconnects() async throws {
        let listener = try RawSocket.listen()
        let client = RedisClient(
            endpoint: RedisEndpoint(host: "127.0.0.1", port: listener.port),
            connectTimeout: .seconds(2),
            timeout: .milliseconds(300)
        )
        let start = ContinuousClock.now
        let error = try await #require(throws: RedisError.self) { try await client.pipeline([["PING"]]) }
        let elapsed = ContinuousClock.now - start
        #expect(error.code == "store_timeout")
        #expect(error.message.contains("within 300 ms"))
        // Loose above: within the whole suite on 2 cores, resuming this task alone has taken seconds.
        #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(20), "\(elapsed)")
        // Called again at once: a new connection and a new wait, not the failed connection's error.
        let again = ContinuousClock.now
        await #expect(throws: RedisError.self) { try await client.pipeline([["PING"]]) }
        #expect(ContinuousClock.now - again >= .milliseconds(300))
        close(listener.descriptor)
        let server = try await RedisServerForTests(port: listener.port)
        defer { server.stop() }
        #expect(try await client.pipeline([["PING"]]) == [.simpleString("PONG")])
        await client.shutdown()
    }

    /// Killed with a call in flight: `store_unavailable` at once (not after the timeout), the same
    /// while it is down, and the client works again once it is back on the same port.
    @Test func aServerKilledMidUseFailsCallsAndTheClientRecoversAfterARestart() async throws {
        try await Self.withRedis(timeout: .seconds(60)) { server, client in
            #expect(try await client.pipeline([["SET", "k", "v"]]) == [.simpleString("OK")])
            // BLPOP on an empty list holds the call in flight (for 50 s) while the server is killed.
            let blocked = Task { try await client.pipeline([["BLPOP", "never", "50"]]) }
            try await Task.sleep(for: .milliseconds(200))
            let start = ContinuousClock.now
            server.kill()
            let error = try await #require(throws: RedisError.self) { try await blocked.value }
            #expect(error.code == "store_unavailable")
            #expect(ContinuousClock.now - start < .seconds(30), "failed by the lost connection, not the 60 s timeout")
            let down = try await #require(throws: RedisError.self) { try await client.pipeline([["PING"]]) }
            #expect(down.code == "store_unavailable" && down.message.contains("cannot connect"), "\(down)")
            try await server.start()
            #expect(try await client.pipeline([["PING"]]) == [.simpleString("PONG")])
        }
    }

    /// An invalid reply from the other end fails the call with `store_unavailable` and is not kept.
    @Test func anOversizedReplyClosesTheConnection() async throws {
        let listener = try RawSocket.listen()
        defer { close(listener.descriptor) }
        RawSocket.answerOnce(listener.descriptor, with: Array("$536870913\r\n".utf8))
        let client = Self.client(port: listener.port)
        let error = try await #require(throws: RedisError.self) { try await client.pipeline([["GET", "big"]]) }
        #expect(error.code == "store_unavailable")
        #expect(error.message.contains("a bulk string of length 536870913, over the limit of 536870912"), "\(error)")
        await client.shutdown()
    }

    @Test func afterShutdownCallsFail() async throws {
        try await Self.withRedis { server, client in
            let before = try await client.pipeline([["PING"]])
            #expect(before == [.simpleString("PONG")])
            await client.shutdown()
            await #expect(throws: RedisError.unavailable("the store client at 127.0.0.1:\(server.port) is shut down")) {
                try await client.pipeline([["PING"]])
            }
        }
    }

    // MARK: Helpers

    static func client(
        port: Int,
        database: Int = 0,
        username: String? = nil,
        password: String? = nil,
        timeout: Duration = .seconds(5)
    ) -> RedisClient {
        let endpoint = RedisEndpoint(host: "127.0.0.1", port: port, database: database) { (username, password) }
        return RedisClient(endpoint: endpoint, connectTimeout: .seconds(2), timeout: timeout)
    }

    /// Runs `body` with a fresh server and a client of it, then shuts both down.
    static func withRedis(
        arguments: [String] = [],
        password: String? = nil,
        timeout: Duration = .seconds(5),
        _ body: (RedisServerForTests, RedisClient) async throws -> Void
    ) async throws {
        let server = try await RedisServerForTests(arguments: arguments)
        defer { server.stop() }
        let client = Self.client(port: server.port, password: password, timeout: timeout)
        do {
            try await body(server, client)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}
