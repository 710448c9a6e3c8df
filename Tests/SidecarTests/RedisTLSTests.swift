//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SidecarModel
import Testing

@testable import Sidecar

#if canImport(Glibc)
import Glibc
#endif

/// TLS to the store (`rediss://`) against a real `redis-server` serving TLS with certificates each
/// test makes with the `openssl` command: the store is reached through ``FleetStore``, as the
/// sidecar reaches it, from settings parsed from a URL.
@Suite struct RedisTLSTests {
    static let password = "tls-SENTINEL-store-password"

    @Test func aRoundTripOverTLSWithTheRightCA() async throws {
        let certificates = try TLSTestCertificates(names: ["IP:127.0.0.1", "DNS:localhost"])
        defer { certificates.remove() }
        let server = try await TLSRedisServer(certificates: certificates, password: Self.password)
        defer { server.stop() }
        // By address (checked against the IP entry, no SNI) and by name (the DNS entry, with SNI).
        for host in ["127.0.0.1", "localhost"] {
            let store = try Self.store("rediss://\(host):\(server.port)/2", caFile: certificates.caFile)
            // 100 KB: several TLS records each way, read in several pieces.
            let value = String(repeating: "0123456789", count: 10_000)
            let replies = try await store.client.pipeline([["SET", "greeting", RedisArgument(value)], ["GET", "greeting"], ["PING"]])
            #expect(replies == [.simpleString("OK"), .bulkString(Array(value.utf8)), .simpleString("PONG")])
            await store.client.shutdown()
        }
    }

    @Test func aCertificateFromAnotherCAIsRefused() async throws {
        let certificates = try TLSTestCertificates(names: ["IP:127.0.0.1"])
        defer { certificates.remove() }
        let server = try await TLSRedisServer(certificates: certificates, password: Self.password)
        defer { server.stop() }
        let error = try await Self.failure(of: Self.store("rediss://127.0.0.1:\(server.port)/0", caFile: certificates.otherCAFile))
        #expect(error.code == RedisError.unavailableCode)
        #expect(error.message.contains("certificate of the store could not be verified"), "\(error)")
        // The reason OpenSSL gives depends on the chain the server sends (redis sends its CA too).
        #expect(
            error.message.contains("self-signed certificate in certificate chain") || error.message.contains("unable to get local issuer"),
            "\(error)"
        )
        // Without ca_file the system's trust store is used, which does not hold the test CA either.
        let system = try await Self.failure(of: Self.store("rediss://127.0.0.1:\(server.port)/0", caFile: nil))
        #expect(system.message.contains("could not be verified"), "\(system)")
    }

    @Test func aCertificateForAnotherHostIsRefused() async throws {
        let certificates = try TLSTestCertificates(names: ["DNS:example.test"])
        defer { certificates.remove() }
        let server = try await TLSRedisServer(certificates: certificates, password: Self.password)
        defer { server.stop() }
        let byAddress = try await Self.failure(of: Self.store("rediss://127.0.0.1:\(server.port)/0", caFile: certificates.caFile))
        #expect(byAddress.message.contains("could not be verified: IP address mismatch"), "\(byAddress)")
        let byName = try await Self.failure(of: Self.store("rediss://localhost:\(server.port)/0", caFile: certificates.caFile))
        #expect(byName.message.contains("could not be verified: hostname mismatch"), "\(byName)")
    }

    /// A plain-TCP server behind `rediss://` fails the call (it does not speak TLS) within the
    /// timeouts, and the next call fails the same way rather than hanging on a dead connection.
    @Test func aServerWithoutTLSFailsTheCallWithinTheTimeouts() async throws {
        let certificates = try TLSTestCertificates(names: ["IP:127.0.0.1"])
        defer { certificates.remove() }
        let server = try await TLSRedisServer(certificates: nil, password: Self.password)
        defer { server.stop() }
        let store = try Self.store("rediss://127.0.0.1:\(server.port)/0", caFile: certificates.caFile, connectTimeout: .milliseconds(300))
        let errors = try await Self.failures(of: store, count: 2)
        #expect(errors.count == 2)
        for error in errors {
            // redis-server waits for a line that the ClientHello never ends: the connect timeout ends it.
            #expect(error.code == RedisError.unavailableCode, "\(error)")
            #expect(error.message.contains("TLS: no handshake within the connect timeout"), "\(error)")
        }
    }

    /// A server that answers the ClientHello with a Redis error line (not a TLS record): OpenSSL's
    /// reason is named, at once.
    @Test func aServerAnsweringInPlainTextIsNamed() async throws {
        let certificates = try TLSTestCertificates(names: ["IP:127.0.0.1"])
        defer { certificates.remove() }
        let port = try TLSRedisServer.answerOnce(with: "-ERR unknown command\r\n")
        let error = try await Self.failure(of: Self.store("rediss://127.0.0.1:\(port)/0", caFile: certificates.caFile, connectTimeout: .seconds(30)))
        #expect(error.message.contains("TLS: the handshake failed: "), "\(error)")
        #expect(error.message.contains("does the store serve TLS on this port?"), "\(error)")
        #expect(!error.message.contains("connect timeout"), "\(error)")
    }

    @Test func aCAFileOpenSSLCannotLoadIsNamedAtStart() throws {
        let certificates = try TLSTestCertificates(names: ["IP:127.0.0.1"])
        defer { certificates.remove() }
        let broken = certificates.directory.appendingPathComponent("broken.pem").path
        try "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n".write(toFile: broken, atomically: true, encoding: .utf8)
        #expect {
            _ = try Self.store("rediss://127.0.0.1:6379/0", caFile: broken)
        } throws: { error in
            "\(error)".contains("cannot use store.ca_file '\(broken)'")
        }
    }

    /// The store for `url`, logging in with ``password``.
    static func store(_ url: String, caFile: String?, connectTimeout: Duration = .seconds(5)) throws -> FleetStore {
        var settings = try StoreSettings.parse(url: url).get()
        #expect(settings.tls)
        settings.caFile = caFile
        settings.connectTimeout = connectTimeout
        settings.timeout = .seconds(5)
        return try FleetStore(settings: settings, audit: AuditLog(write: { _ in })) { Self.password }
    }

    /// The errors of `count` calls (`PING`) to `store`, one after the other, each checked never to
    /// hold the password; then `store` shuts down.
    static func failures(of store: FleetStore, count: Int = 1) async throws -> [RedisError] {
        var errors: [RedisError] = []
        for _ in 0..<count {
            do {
                let replies = try await store.client.pipeline([["PING"]])
                Issue.record("expected a failure, got \(replies)")
            } catch {
                #expect(!"\(error)".contains(Self.password))
                errors.append(error)
            }
        }
        await store.client.shutdown()
        return errors
    }

    /// The error of one call to `store`, which then shuts down.
    static func failure(of store: FleetStore) async throws -> RedisError {
        try #require(try await Self.failures(of: store).first)
    }
}

/// A CA, a server certificate it signed for `names` (`IP:…`, `DNS:…`), and a second CA that signed
/// nothing, made with the `openssl` command in a temporary directory.
struct TLSTestCertificates {
    let directory: URL
    var caFile: String { self.directory.appendingPathComponent("ca.pem").path }
    var otherCAFile: String { self.directory.appendingPathComponent("other-ca.pem").path }
    var certificateFile: String { self.directory.appendingPathComponent("server.pem").path }
    var keyFile: String { self.directory.appendingPathComponent("server.key").path }

    init(names: [String]) throws {
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for name in ["ca", "other-ca"] {
            try self.openssl(
                ["req", "-x509"] + key + ["-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2", "-subj", "/CN=Sidecar test \(name)"]
            )
        }
        try self.openssl(["req"] + key + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=redis test server"])
        try "subjectAltName = \(names.joined(separator: ","))\n".write(
            to: self.directory.appendingPathComponent("names.cnf"),
            atomically: true,
            encoding: .utf8
        )
        try self.openssl([
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2",
            "-extfile", "names.cnf",
        ])
    }

    func remove() {
        try? FileManager.default.removeItem(at: self.directory)
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = self.directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TLSRedisServer.Failure(description: "openssl \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
    }
}

/// A real `redis-server` on a free loopback port, serving TLS only (`certificates`) or plain TCP
/// (`nil`), with a password, without persistence; it accepts connections before `init` returns.
final class TLSRedisServer {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let port: Int
    private let directory: URL
    private let process: Process

    init(certificates: TLSTestCertificates?, password: String) async throws {
        self.port = try Self.freePort()
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("redis-tls-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        var arguments = [
            "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.directory.path, "--requirepass", password,
        ]
        if let certificates {
            arguments += [
                "--port", "0", "--tls-port", "\(self.port)", "--tls-cert-file", certificates.certificateFile, "--tls-key-file",
                certificates.keyFile, "--tls-ca-cert-file", certificates.caFile, "--tls-auth-clients", "no",
            ]
        } else {
            arguments += ["--port", "\(self.port)"]
        }
        self.process = Process()
        self.process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        self.process.arguments = arguments
        self.process.standardOutput = FileHandle.nullDevice
        try self.process.run()
        for _ in 0..<500 where self.process.isRunning {
            if Self.accepts(port: self.port) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        self.stop()
        throw Failure(description: "redis-server on port \(self.port) did not listen within 5 s")
    }

    func stop() {
        if self.process.isRunning {
            kill(self.process.processIdentifier, SIGKILL)
            self.process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// A port free on 127.0.0.1 a moment ago (bound to port 0, read back, closed).
    private static func freePort() throws -> Int {
        let (descriptor, port) = try RawSocket.listen()
        close(descriptor)
        return port
    }

    /// A listener on a free loopback port that accepts one connection, reads what arrives, answers
    /// `reply` and closes; its port.
    static func answerOnce(with reply: String) throws -> Int {
        let (descriptor, port) = try RawSocket.listen()
        Thread.detachNewThread {
            defer { close(descriptor) }
            let connection = accept(descriptor, nil, nil)
            guard connection >= 0 else { return }
            var bytes = [UInt8](repeating: 0, count: 4096)
            _ = read(connection, &bytes, bytes.count)
            _ = write(connection, reply, reply.utf8.count)
            close(connection)
        }
        return port
    }

    /// Whether a TCP connection to 127.0.0.1:`port` is accepted.
    private static func accepts(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = RawSocket.loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
