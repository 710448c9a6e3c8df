//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real `redis-server` for one test: on a free loopback port, in a temporary directory, without
/// persistence; started and found answering before `init` returns. Call ``stop()`` at the end.
final class RedisServerForTests {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let port: Int
    private let arguments: [String]
    private let directory: URL
    private var process: Process?

    /// - Parameters:
    ///   - port: nil for a free one.
    ///   - arguments: more `redis-server` options, e.g. `["--requirepass", "…"]`.
    init(port: Int? = nil, arguments: [String] = []) async throws {
        self.port = try port ?? RawSocket.freePort()
        self.arguments = arguments
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        try await self.start()
    }

    /// Starts the server (again, after ``kill()``, on the same port) and waits until it answers PING.
    func start() async throws {
        guard let executable = Self.executable() else {
            throw Failure(description: "redis-server is not installed (not on PATH): scripts/test.sh installs it (Debian package redis-server)")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments =
            [
                "--port", "\(self.port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.directory.path, "--loglevel", "warning",
            ] + self.arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        for _ in 0..<500 {
            if let answer = RawSocket.exchange(port: self.port, "PING\r\n"), answer.hasPrefix("+PONG") || answer.hasPrefix("-NOAUTH") {
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        self.stop()
        throw Failure(description: "redis-server on port \(self.port) did not answer PING within 5 s")
    }

    /// Kills the server with SIGKILL (no goodbye to its clients) and waits until it is gone.
    func kill() {
        guard let process = self.process else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// Kills the server and removes its directory.
    func stop() {
        self.kill()
        try? FileManager.default.removeItem(at: self.directory)
    }

    private static func executable() -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return (path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin"])
            .map { URL(fileURLWithPath: $0).appendingPathComponent("redis-server") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}

/// Blocking loopback sockets for tests: a free port, a listener that never answers, one exchange.
enum RawSocket {
    /// A port free on 127.0.0.1 a moment ago (bound to port 0, read back, closed).
    static func freePort() throws -> Int {
        let listener = try Self.listen()
        close(listener.descriptor)
        return listener.port
    }

    /// A socket listening on 127.0.0.1 (`port` 0: any free one). The kernel completes connections
    /// into its backlog, so a client connects, writes, and never hears anything back.
    static func listen(port: Int = 0) throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: port)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound, Glibc.listen(descriptor, 16) == 0 else {
            close(descriptor)
            throw RedisServerForTests.Failure(description: "cannot listen on 127.0.0.1:\(port): errno \(errno)")
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Connects to 127.0.0.1:`port`, sends `request`, and returns what arrives within 1 s (nil: nothing).
    static func exchange(port: Int, _ request: String) -> String? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = Self.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected, write(descriptor, request, request.utf8.count) == request.utf8.count else { return nil }
        var bytes = [UInt8](repeating: 0, count: 512)
        let count = read(descriptor, &bytes, bytes.count)
        return count > 0 ? String(decoding: bytes[..<count], as: UTF8.self) : nil
    }

    /// Accepts one connection on `descriptor` (a listener) in a thread of its own, reads what the
    /// client sends, and answers `reply`.
    static func answerOnce(_ descriptor: Int32, with reply: [UInt8]) {
        Thread.detachNewThread {
            let connection = accept(descriptor, nil, nil)
            guard connection >= 0 else { return }
            var bytes = [UInt8](repeating: 0, count: 4096)
            _ = read(connection, &bytes, bytes.count)
            _ = reply.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
            close(connection)
        }
    }

    /// 127.0.0.1:`port` as a socket address.
    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}
