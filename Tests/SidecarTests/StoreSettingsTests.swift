//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

@testable import SidecarModel

@Suite struct StoreSettingsTests {
    private func parse(_ store: String, environment: [String: String] = [:]) throws -> StoreSettings? {
        let yaml = ConfigurationTests.minimal + "\nstore:\n" + store
        return try SidecarConfiguration.parse(yaml: yaml, file: "test.yaml", environment: environment).store
    }

    private func problems(_ store: String, environment: [String: String] = [:]) -> [String] {
        do {
            _ = try self.parse(store, environment: environment)
            return []
        } catch let error as ConfigurationError {
            return error.problems.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    @Test func withoutAStoreEverythingStaysInProcess() throws {
        let configuration = try SidecarConfiguration.parse(yaml: ConfigurationTests.minimal, file: "test.yaml", environment: [:])
        #expect(configuration.store == nil)
    }

    @Test func aURLWithDefaults() throws {
        let settings = try #require(try self.parse("  url: redis://redis.llm.svc\n"))
        #expect(settings.host == "redis.llm.svc")
        #expect(settings.port == 6379 && settings.database == 0 && settings.username == nil && settings.password == nil)
        #expect(settings.timeout == .milliseconds(100) && settings.connectTimeout == .milliseconds(250))
        #expect(settings.keyPrefix == "llm-sidecar:" && settings.onFailure == .local && settings.reservationTTL == .seconds(900))
    }

    @Test func everyField() throws {
        let settings = try #require(
            try self.parse(
                """
                  url: redis://[::1]:6380/3
                  username: sidecar
                  password_env: REDIS_PASSWORD
                  connect_timeout: 1s
                  timeout: 20ms
                  key_prefix: "team-a:"
                  on_store_failure: deny
                  reservation_ttl: 2m

                """,
                environment: ["REDIS_PASSWORD": "s3cret"]
            )
        )
        #expect(settings.host == "::1" && settings.port == 6380 && settings.database == 3)
        #expect(settings.username == "sidecar" && settings.password?.value == "s3cret")
        #expect(settings.connectTimeout == .seconds(1) && settings.timeout == .milliseconds(20))
        #expect(settings.keyPrefix == "team-a:" && settings.onFailure == .deny && settings.reservationTTL == .seconds(120))
    }

    @Test func rediss() throws {
        let system = try #require(try self.parse("  url: rediss://app:hunter2@redis.llm.svc/1\n"))
        #expect(system.tls && system.caFile == nil && system.host == "redis.llm.svc" && system.port == 6379 && system.database == 1)
        #expect(system.username == "app" && system.password?.value == "hunter2")
        let bundle = "/etc/ssl/certs/ca-certificates.crt"
        let settings = try #require(try self.parse("  url: rediss://10.0.0.7:6380\n  ca_file: \(bundle)\n"))
        #expect(settings.tls && settings.caFile == bundle && settings.host == "10.0.0.7" && settings.port == 6380)
        #expect(try #require(try self.parse("  url: redis://redis\n")).tls == false)
        let problems = self.problems("  url: rediss://app:hunter2@redis:0/1\n")
        #expect(
            problems.count == 1 && problems.allSatisfy { !$0.contains("hunter2") && $0.contains("rediss://app:<redacted>@redis:0/1") },
            "\(problems)"
        )
    }

    @Test func aLoginInTheURLIsPercentDecodedAndNeverEchoed() throws {
        let settings = try #require(try self.parse("  url: redis://app:p%40ss%3Aword@127.0.0.1:6379/1\n"))
        #expect(settings.username == "app" && settings.password?.value == "p@ss:word")
        #expect("\(settings)".contains("p@ss") == false)
        let problems = self.problems("  url: redis://app:hunter2@127.0.0.1:99999/1\n")
        #expect(problems.count == 1)
        #expect(problems.allSatisfy { !$0.contains("hunter2") && $0.contains("store.url") })
    }

    @Test func aPasswordFileIsReadAndAMissingOneIsNamed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("password")
        try "from-a-file\n".write(to: file, atomically: true, encoding: .utf8)
        let settings = try #require(try self.parse("  url: redis://127.0.0.1\n  password_file: \(file.path)\n"))
        #expect(settings.password?.value == "from-a-file")
        #expect(settings.passwordSource == .file(file.path))
        let missing = self.problems("  url: redis://127.0.0.1\n  password_file: \(directory.path)/absent\n")
        #expect(missing.count == 1 && missing[0].contains("store.password") && missing[0].contains("absent"))
    }

    @Test(arguments: [
        ("  url: http://redis\n", "store.url", "redis://"),
        ("  url: rediss//redis\n", "store.url", "rediss:// for TLS"),
        ("  url: redis://redis\n  ca_file: /etc/ssl/certs/ca-certificates.crt\n", "store.ca_file", "only with a rediss:// url"),
        ("  url: rediss://redis\n  ca_file: /absent/ca.pem\n", "store.ca_file", "cannot read"),
        ("  url: rediss://redis\n  ca_file: /etc/passwd\n", "store.ca_file", "no PEM certificate"),
        ("  url: redis://red is\n", "store.url", "printable"),
        ("  url: redis://redis\\r\\nFLUSHALL\n", "store.url", "must be"),
        ("  url: redis://redis/abc\n", "store.url", "database number"),
        ("  url: redis://app:%zz@redis\n", "store.url", "%-escape"),
        ("  timeout: 5ms\n", "store.url", "is required"),
        ("  url: redis://redis\n  timeout: 0ms\n", "store.timeout", "1ms to 10s"),
        ("  url: redis://redis\n  reservation_ttl: 1s\n", "store.reservation_ttl", "10s to 24h"),
        ("  url: redis://redis\n  on_store_failure: ignore\n", "store.on_store_failure", "local, deny, allow"),
        ("  url: redis://redis\n  key_prefix: \"\(String(repeating: "k", count: 65))\"\n", "store.key_prefix", "64"),
        ("  url: redis://redis\n  password_env: A\n  password_file: /x\n", "store.password_file", "not both"),
        ("  url: redis://redis\n  password_env: UNSET_VARIABLE\n", "store.password", "UNSET_VARIABLE"),
        ("  url: redis://redis\n  username: \"a\\r\\nb\"\n", "store.username", "printable"),
        ("  url: redis://redis\n  pasword_env: X\n", "store.pasword_env", "unknown field"),
    ])
    func badValuesAreNamed(store: String, field: String, message: String) {
        let problems = self.problems(store)
        #expect(problems.contains { $0.contains(field) && $0.contains(message) }, "\(problems)")
    }

    @Test func aReloadComparesEverythingButThePassword() throws {
        let first = try #require(try self.parse("  url: redis://redis\n  password_env: P\n", environment: ["P": "one"]))
        let rotated = try #require(try self.parse("  url: redis://redis\n  password_env: P\n", environment: ["P": "two"]))
        #expect(first != rotated && first.withoutPassword == rotated.withoutPassword)
    }
}
