//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

@Suite struct ConfigurationTests {
    static let minimal = """
        providers:
          deepseek:
            dialect: deepseek
            base_url: https://api.deepseek.com/
            api_key_env: DEEPSEEK_API_KEY
        models:
          deepseek-chat:
            provider: deepseek
            price: { input: 0.28, cached_input: 0.028, output: 0.42, currency: USD }
        """

    func parse(_ yaml: String, environment: [String: String] = [:]) throws -> SidecarConfiguration {
        try SidecarConfiguration.parse(yaml: yaml, file: "test.yaml", environment: environment)
    }

    func problems(_ yaml: String, environment: [String: String] = [:]) -> [String] {
        do {
            _ = try self.parse(yaml, environment: environment)
            return []
        } catch let error as ConfigurationError {
            return error.problems.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    @Test func theShippedConfigurationIsValidAndDocumentsEveryOption() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../sidecar.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        let configuration = try self.parse(text)
        #expect(configuration.listen == ListenAddress("127.0.0.1:8080"))
        #expect(configuration.models.resolve("demo") != nil)
        #expect(configuration.providers["demo"]?.isUsable == true)
        #expect(configuration.warnings.contains { $0.contains("DEEPSEEK_API_KEY") })
        #expect(Set(configuration.routes.keys) == ["financial_analysis", "code_generation", "data_extraction", "translation", "default"])
        #expect(configuration.models.resolve("deepseek-v3")?.entry.deployments.count == 2)
        #expect(configuration.responses == ResponsesSettings())
        let keys = [
            ProviderConfiguration.allowedKeys, ModelEntry.allowedKeys, ModelEntry.deploymentKeys, SidecarConfiguration.topLevelKeys,
            ResilienceSettings.allKeys, SidecarConfiguration.serverKeys, SidecarConfiguration.usageKeys, QuotaSettings.keys,
            QuotaSettings.limitKeys, ClientSettings.keys, ModelEntry.priceKeys, PricingSettings.allowedKeys, ResponsesSettings.keys,
            ResponsesSettings.storeKeys, StoreSettings.keys,
        ]
        for key in keys.reduce(Set(), { $0.union($1) }) {
            #expect(text.contains(key), "sidecar.yaml does not document '\(key)'")
        }
    }

    @Test func defaultsAndKeysFromTheEnvironment() throws {
        let configuration = try self.parse(Self.minimal, environment: ["DEEPSEEK_API_KEY": " sk-test \n"])
        let provider = try #require(configuration.providers["deepseek"])
        #expect(provider.baseURL == "https://api.deepseek.com")
        #expect(provider.apiKeys.map(\.value) == ["sk-test"])
        #expect(provider.connectTimeout == .seconds(10))
        #expect(provider.timeout == .seconds(600))
        #expect(configuration.listen.description == "127.0.0.1:8080")
        #expect(configuration.server.maxRequestBodyBytes == 8 << 20)
        #expect(configuration.usage.sink == .standardOutput)
        #expect(configuration.warnings.isEmpty)
        #expect(configuration.models.resolve("deepseek-chat")?.entry.price?.input == Money(picos: 280_000))
    }

    @Test func missingKeysAreWarningsNotErrors() throws {
        let configuration = try self.parse(Self.minimal)
        #expect(configuration.providers["deepseek"]?.isUsable == false)
        #expect(configuration.warnings == ["provider 'deepseek' has no API key: set the environment variable DEEPSEEK_API_KEY"])
    }

    /// A key with a line break inside would end the Authorization header line and add another
    /// to every provider request: it is no key, and the provider is reported as having none.
    @Test(arguments: ["sk-one\nsk-two", "sk-a\r\nX-Injected: yes", "sk-\u{0}nul"])
    func keysHoldingControlCharactersAreNoKeys(key: String) throws {
        let configuration = try self.parse(Self.minimal, environment: ["DEEPSEEK_API_KEY": key])
        #expect(configuration.providers["deepseek"]?.isUsable == false)
    }

    @Test func providerHeadersHoldingControlCharactersAreProblems() {
        let yaml = Self.minimal.replacingOccurrences(
            of: "api_key_env: DEEPSEEK_API_KEY",
            with: "api_key_env: DEEPSEEK_API_KEY\n    headers: {X-Org: \"${ORG}\"}"
        )
        let problems = self.problems(yaml, environment: ["ORG": "acme\r\nX-Injected: yes"])
        #expect(problems.count == 1)
        #expect(problems.first?.contains("header 'X-Org' must hold no control characters") == true)
    }

    @Test func keysFromFiles() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID().uuidString)").path
        try "sk-from-file\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let yaml = Self.minimal.replacingOccurrences(of: "api_key_env: DEEPSEEK_API_KEY", with: "api_key_file: \(path)")
        #expect(try self.parse(yaml).providers["deepseek"]?.apiKeys.map(\.value) == ["sk-from-file"])
    }

    @Test func relativeKeyAndCAFilesAreRelativeToTheConfigurationFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("paths-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "sk-relative\n".write(to: directory.appendingPathComponent("deepseek.key"), atomically: true, encoding: .utf8)
        try "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".write(
            to: directory.appendingPathComponent("ca.pem"),
            atomically: true,
            encoding: .utf8
        )
        let yaml = Self.minimal.replacingOccurrences(of: "api_key_env: DEEPSEEK_API_KEY", with: "api_key_file: deepseek.key\n    ca_file: ca.pem")
        let provider = try SidecarConfiguration.parse(yaml: yaml, file: directory.appendingPathComponent("sidecar.yaml").path, environment: [:])
            .providers["deepseek"]
        #expect(provider?.apiKeys.map(\.value) == ["sk-relative"])
        #expect(provider?.caFile == directory.appendingPathComponent("ca.pem").path)
    }

    @Test func aCAFileMustHoldACertificate() {
        let yaml = Self.minimal.replacingOccurrences(of: "api_key_env: DEEPSEEK_API_KEY", with: "api_key_env: K\n    ca_file: /nonexistent/ca.pem")
        #expect(self.problems(yaml) == ["test.yaml:6: providers.deepseek.ca_file: cannot read '/nonexistent/ca.pem'"])
    }

    @Test func secretsNeverPrint() {
        let secret = Secret(value: "sk-very-secret")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
    }

    @Test func environmentInterpolation() throws {
        let yaml = "listen: ${ADDR:-127.0.0.1:9000}\n" + Self.minimal.replacingOccurrences(of: "https://api.deepseek.com/", with: "${DS_URL}")
        let configuration = try self.parse(yaml, environment: ["DS_URL": "https://proxy.example.cn/deepseek"])
        #expect(configuration.listen.port == 9000)
        #expect(configuration.providers["deepseek"]?.baseURL == "https://proxy.example.cn/deepseek")
        #expect(
            self.problems(yaml) == [
                "test.yaml:5: providers.deepseek.base_url: environment variable DS_URL is not set (write ${DS_URL:-default} to give a default)"
            ]
        )
    }

    /// Every problem is reported at once, each with its line and field.
    @Test func routingProblemsNameTheirField() {
        let yaml =
            Self.minimal + """

                  pooled:
                    balance: fastest
                    deployments:
                      - { provider: deepseek, weight: 0 }
                      - { upstream_model: x }
                    fallbacks: [nothing]
                routes:
                  translation: { primary: [deepseek-chat, unknown-model] }
                  empty: { fallback: [deepseek-chat] }
                resilience:
                  retries: { retry_on: [429, teapot], max_attempts: 0 }
                  breaker: { failure_rate: 2 }
                  timeouts: { first_byte: never }
                """
        let problems = self.problems(yaml)
        let expected = [
            "test.yaml:11: models.pooled.balance: must be one of priority, weighted, least_in_flight, lowest_latency",
            "test.yaml:13: models.pooled.deployments[0].weight: must be between 1 and 1000000",
            "test.yaml:14: models.pooled.deployments[1].provider: is required",
            "test.yaml:15: models.pooled.fallbacks: fallback 'nothing' of 'pooled' is not a model under models",
            "test.yaml:17: routes.translation.primary[1]: no model named 'unknown-model' under models",
            "test.yaml:18: routes.empty.primary: needs at least one model",
            "test.yaml:20: resilience.retries.retry_on[1]: must be an HTTP status (400–599), 5xx, connect_error or timeout, not 'teapot'",
            "test.yaml:20: resilience.retries.max_attempts: must be between 1 and 20",
            "test.yaml:21: resilience.breaker.failure_rate: must be a number between 0 and 1",
            "test.yaml:22: resilience.timeouts.first_byte: must be a duration such as 500ms, 10s, 5m or 1h, not 'never'",
        ]
        for message in expected {
            #expect(problems.contains { $0.hasPrefix(message) }, "missing problem: \(message)\nall: \(problems.joined(separator: "\n"))")
        }
    }

    @Test func everyProblemIsReportedWithLineAndField() {
        let yaml = """
            listen: localhost
            server:
              max_request_body: lots
              event_loop_threads: 0
            providers:
              broken:
                dialect: klingon
              openai:
                dialect: openai
                base_url: ftp://example.com
                base_ulr: https://typo
                timeout: soon
            models:
              gpt-4o:
                provider: openai
                price: { input: -1, output: 2, currency: EUR }
              ghost:
                provider: nowhere
            usage:
              sink: ""
            """
        let problems = self.problems(yaml)
        let expected = [
            "test.yaml:1: listen: must be HOST:PORT, such as 127.0.0.1:8080",
            "test.yaml:3: server.max_request_body: must be a size such as 512KiB or 4MiB, not 'lots'",
            "test.yaml:4: server.event_loop_threads: must be auto or a number from 1 to 64",
            "test.yaml:7: providers.broken.dialect: unknown dialect 'klingon' (known: openai, deepseek, dashscope, dashscope-native, anthropic, gemini, openai-compatible, demo)",
            "test.yaml:10: providers.openai.base_url: must be an http:// or https:// URL, not 'ftp://example.com'",
            "test.yaml:11: providers.openai.base_ulr: unknown field 'base_ulr'",
            "test.yaml:12: providers.openai.timeout: must be a duration such as 500ms, 10s, 5m or 1h, not 'soon'",
            "test.yaml:9: providers.openai.api_key_env: a key is required for dialect openai: set api_key_env or api_key_file",
            "test.yaml:16: models.gpt-4o.price.input: must be a non-negative number with at most 6 decimals",
            "test.yaml:16: models.gpt-4o.price.currency: must be USD or CNY",
            "test.yaml:16: models.gpt-4o.price: needs both input and output (prices per million tokens)",
            "test.yaml:18: models.ghost.provider: no provider named 'nowhere' under providers",
            "test.yaml:20: usage.sink: must be stdout, stderr or a file path",
        ]
        for message in expected {
            #expect(problems.contains { $0.hasPrefix(message) }, "missing problem: \(message)\nall: \(problems.joined(separator: "\n"))")
        }
        #expect(problems.count == expected.count, "unexpected extra problems: \(problems.joined(separator: "\n"))")
    }

    @Test func dialectSpecificOptions() throws {
        let yaml = """
            providers:
              claude:
                dialect: anthropic
                base_url: https://api.anthropic.com
                api_key_env: ANTHROPIC_API_KEY
                anthropic_version: "2023-06-01"
                anthropic_beta: [prompt-caching-2024-07-31]
                default_max_tokens: 8192
              google:
                dialect: gemini
                base_url: https://generativelanguage.googleapis.com
                api_key_env: GEMINI_API_KEY
                api_version: v1
                anthropic_version: "2023-06-01"
            models:
              claude:
                provider: claude
            """
        #expect(self.problems(yaml) == ["test.yaml:14: providers.google.anthropic_version: only applies to dialect anthropic, not gemini"])
        let fixed = try self.parse(
            yaml.replacingOccurrences(of: "    api_version: v1\n    anthropic_version: \"2023-06-01\"", with: "    api_version: v1")
        )
        #expect(
            fixed.providers["claude"]?.dialectOptions
                == DialectOptions(anthropicVersion: "2023-06-01", anthropicBetas: ["prompt-caching-2024-07-31"], defaultMaxTokens: 8192)
        )
        #expect(fixed.providers["google"]?.dialectOptions.apiVersion == "v1")
    }

    @Test func invalidYAMLIsReported() {
        #expect(self.problems("providers: [unclosed") == ["test.yaml:1: providers: not valid YAML: unclosed '['"])
        #expect(self.problems("models:\n  a: 1\n\tb: 2") == ["test.yaml:3: not valid YAML: tabs are not allowed for indentation; use spaces"])
    }

    @Test func modelsAreRequired() {
        #expect(self.problems("providers: {}").contains("test.yaml: models: at least one model is required"))
    }

    @Test func patternsRouteUnlistedNames() throws {
        let yaml =
            Self.minimal + """

                  "deepseek-*":
                    provider: deepseek
                  "*":
                    provider: deepseek
                    upstream_model: deepseek-chat
                """
        let catalog = try self.parse(yaml).models
        #expect(catalog.listed.map(\.name) == ["deepseek-chat"])
        #expect(catalog.resolve("deepseek-reasoner")?.upstreamModel == "deepseek-reasoner")
        #expect(catalog.resolve("deepseek-reasoner")?.entry.name == "deepseek-*")
        #expect(catalog.resolve("gpt-4o")?.upstreamModel == "deepseek-chat")
        #expect(catalog.resolve("deepseek-chat")?.entry.name == "deepseek-chat")
    }

    @Test(arguments: [("250ms", 250), ("10s", 10_000), ("1.5m", 90_000), ("2h", 7_200_000), ("30", 30_000)])
    func durations(text: String, milliseconds: Int64) {
        #expect(ConfigurationReader.parseDuration(text) == .milliseconds(milliseconds))
    }

    @Test(arguments: [("512KiB", 524_288), ("4MiB", 4_194_304), ("1MB", 1_000_000), ("100", 100), ("2 GiB", 2_147_483_648)])
    func byteSizes(text: String, bytes: Int) {
        #expect(ConfigurationReader.parseByteSize(text) == bytes)
    }

    /// Found by the yaml fuzz target: these trapped converting to an integer (check-config and a
    /// hot reload crashed); now each is a problem naming its field.
    @Test(arguments: ["1e300KiB", "inf", "infGB", "1e19"])
    func byteSizesBeyondIntAreProblems(text: String) {
        #expect(ConfigurationReader.parseByteSize(text) == nil)
        #expect(
            self.problems("server:\n  max_request_body: \(text)\n" + Self.minimal)
                == ["test.yaml:2: server.max_request_body: must be a size such as 512KiB or 4MiB, not '\(text)'"]
        )
    }

    @Test(arguments: ["1e300s", "infms", "1e17h", "1e300"])
    func durationsBeyondIntAreProblems(text: String) {
        #expect(ConfigurationReader.parseDuration(text) == nil)
    }

    @Test(arguments: [("127.0.0.1:8080", "127.0.0.1", 8080), ("[::1]:9", "::1", 9), ("localhost:0", "localhost", 0)])
    func listenAddresses(text: String, host: String, port: Int) {
        #expect(ListenAddress(text)?.host == host)
        #expect(ListenAddress(text)?.port == port)
    }
}
