//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import Translate

extension ProviderConfiguration {
    package static let allowedKeys: Set<String> = [
        "dialect", "base_url", "api_key_env", "api_key_file", "headers", "connect_timeout", "timeout", "first_byte_timeout", "idle_timeout", "proxy",
        "allow_http", "ca_file",
        "stream_options", "word_delay", "anthropic_version", "anthropic_beta", "default_max_tokens", "api_version",
        "responses",
    ]

    /// Decodes `providers:`; a provider with problems is reported and left out. `declared`
    /// receives every name, valid or not, so models naming a broken provider are not reported twice.
    package static func decodeAll(
        _ value: ConfigurationReader.Value,
        declared: inout Set<String>,
        reader: inout ConfigurationReader
    ) -> [String: ProviderConfiguration] {
        var providers: [String: ProviderConfiguration] = [:]
        for (name, child) in reader.mapping(value) {
            declared.insert(name)
            let problemsBefore = reader.problems.count
            let provider = Self.decode(name: name, child, reader: &reader)
            if let provider, reader.problems.count == problemsBefore { providers[name] = provider }
        }
        return providers
    }

    private static func decode(name: String, _ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> ProviderConfiguration? {
        var provider = ProviderConfiguration(
            name: name,
            dialect: .openAI,
            baseURL: "",
            keySources: [],
            apiKeys: [],
            headers: [],
            connectTimeout: .seconds(10),
            timeout: .seconds(600),
            proxy: nil,
            acceptsStreamOptions: nil,
            demoWordDelay: .milliseconds(20)
        )
        var dialect: DialectKind?
        let entries = reader.mapping(value, allowedKeys: Self.allowedKeys)
        let present = Set(entries.map(\.key))
        for (key, child) in entries {
            switch key {
            case "dialect": dialect = Self.decodeDialect(child, reader: &reader)
            case "base_url": provider.baseURL = Self.decodeBaseURL(child, reader: &reader) ?? ""
            case "api_key_env": provider.keySources += Self.names(child, reader: &reader).map(KeySource.environment)
            case "api_key_file": provider.keySources += Self.paths(child, reader: &reader).map(KeySource.file)
            case "headers": provider.headers = Self.headers(child, reader: &reader)
            case "connect_timeout": provider.connectTimeout = reader.duration(child) ?? provider.connectTimeout
            case "timeout": provider.timeout = reader.duration(child) ?? provider.timeout
            case "first_byte_timeout": provider.firstByteTimeout = reader.duration(child)
            case "idle_timeout": provider.idleTimeout = reader.duration(child)
            case "proxy": provider.proxy = reader.string(child)
            case "allow_http": provider.allowsHTTP = reader.bool(child) ?? false
            case "ca_file": provider.caFile = Self.decodeCAFile(child, reader: &reader)
            case "stream_options": provider.acceptsStreamOptions = reader.bool(child)
            case "word_delay": provider.demoWordDelay = reader.duration(child) ?? provider.demoWordDelay
            case "anthropic_version": provider.dialectOptions.anthropicVersion = reader.string(child)
            case "anthropic_beta": provider.dialectOptions.anthropicBetas = reader.stringList(child)
            case "default_max_tokens": provider.dialectOptions.defaultMaxTokens = reader.int(child, in: 1...10_000_000)
            case "api_version": provider.dialectOptions.apiVersion = reader.string(child)
            case "responses": provider.nativeResponses = Self.decodeResponsesMode(child, reader: &reader)
            default: break
            }
        }
        guard let dialect else {
            if !present.contains("dialect") {
                reader.report(
                    value,
                    path: value.child("dialect"),
                    "is required (one of \(DialectKind.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            return nil
        }
        provider.dialect = dialect
        Self.checkRequiredFields(of: provider, present: present, at: value, reader: &reader)
        for (key, child) in entries {
            if ProviderKind.kindSpecificOptions.contains(key), !dialect.kind.options.contains(key) {
                let names = ProviderKind.kinds(reading: key).map(\.rawValue).sorted().joined(separator: ", ")
                reader.report(child, "only applies to dialect \(names), not \(dialect.rawValue)")
            }
        }
        if let child = entries.first(where: { $0.key == "base_url" })?.value, provider.baseURL.hasPrefix("http://"),
            !provider.keySources.isEmpty, !provider.allowsHTTP, !Self.isLoopback(provider.baseURL)
        {
            reader.report(child, "would send the key in clear text: use https://, or set allow_http: true for a trusted network")
        }
        provider.apiKeys = provider.keySources.compactMap { Self.readKey($0, environment: reader.environment) }
        return provider
    }

    /// One name, or a list of names (several keys for one provider, used in turn).
    /// Extra headers sent to the provider. A name or value holding a control character (CR, LF,
    /// NUL…: from a quoted escape or an interpolated `${ENV}`) is a problem: it would end the
    /// header line and add another to every request that carries the key.
    private static func headers(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> [HTTPHeader] {
        reader.stringMap(value).compactMap { name, text in
            guard !HeaderValue.holdsControlCharacter(name), !HeaderValue.holdsControlCharacter(text) else {
                reader.report(value, "header '\(name)' must hold no control characters (CR, LF, NUL…)")
                return nil
            }
            return HTTPHeader(name, text)
        }
    }

    private static func names(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> [String] {
        if case .sequence = value.node.kind { return reader.stringList(value) }
        return reader.string(value).map { [$0] } ?? []
    }

    /// Reports required fields that are absent (a present but invalid field was reported already).
    private static func checkRequiredFields(
        of provider: ProviderConfiguration,
        present: Set<String>,
        at value: ConfigurationReader.Value,
        reader: inout ConfigurationReader
    ) {
        if !provider.dialect.kind.isBuiltIn, !present.contains("base_url") {
            reader.report(value, path: value.child("base_url"), "is required for dialect \(provider.dialect.rawValue)")
        }
        if provider.dialect.kind.requiresKey, present.isDisjoint(with: ["api_key_env", "api_key_file"]) {
            reader.report(
                value,
                path: value.child("api_key_env"),
                "a key is required for dialect \(provider.dialect.rawValue): set api_key_env or api_key_file"
            )
        }
    }

    /// `responses: native` (the provider serves `/responses` itself) or `translate`.
    private static func decodeResponsesMode(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> Bool? {
        switch reader.string(value) {
        case "native": return true
        case "translate": return false
        case nil: return nil
        case let other?:
            reader.report(value, "responses must be native or translate, not '\(other)'")
            return nil
        }
    }

    private static func decodeDialect(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> DialectKind? {
        guard let text = reader.string(value) else { return nil }
        guard let dialect = DialectKind(rawValue: text) else {
            reader.report(value, "unknown dialect '\(text)' (known: \(DialectKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            return nil
        }
        return dialect
    }

    /// Whether an `http://` URL points at this machine (emulators, local model servers).
    private static func isLoopback(_ url: String) -> Bool {
        guard let host = URL(string: url)?.host else { return false }
        return ["localhost", "127.0.0.1", "::1", "[::1]"].contains(host) || host.hasPrefix("127.")
    }

    private static func decodeBaseURL(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> String? {
        guard var text = reader.string(value) else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            reader.report(value, "must be an http:// or https:// URL, not '\(text)'")
            return nil
        }
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// One path, or a list of paths, each relative to the configuration file's directory.
    private static func paths(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> [String] {
        guard case .sequence(let items) = value.node.kind else { return reader.path(value).map { [$0] } ?? [] }
        return items.enumerated().compactMap { index, node in reader.path(ConfigurationReader.Value(node: node, path: "\(value.path)[\(index)]")) }
    }

    /// A PEM bundle that must be readable and hold at least one certificate.
    package static func decodeCAFile(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> String? {
        guard let path = reader.path(value) else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            reader.report(value, "cannot read '\(path)'")
            return nil
        }
        guard text.contains("-----BEGIN CERTIFICATE-----") else {
            reader.report(value, "'\(path)' holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
            return nil
        }
        return path
    }

    /// The largest key file read: 64 KiB. A larger file, or one that is not a regular file, gives
    /// no key (the provider is reported as having none).
    package static let maximumKeyFileBytes = 64 << 10

    /// Reads a key from the environment or a file, trimmed; `nil` when absent, empty or holding a
    /// control character inside.
    package static func readKey(_ source: KeySource, environment: [String: String]) -> Secret? {
        let raw: String?
        switch source {
        case .environment(let name): raw = environment[name]
        case .file(let path):
            raw = try? {
                try InputFile.checkRegularFile(path, limit: Self.maximumKeyFileBytes)
                return try String(contentsOfFile: path, encoding: .utf8)
            }()
        }
        // A control character inside (two keys on two lines, a CR from an editor) would end the
        // Authorization header line and add another: such a key is no key.
        guard let key = raw?.trimmed, !key.isEmpty, !HeaderValue.holdsControlCharacter(String(key)) else { return nil }
        return Secret(value: String(key))
    }
}
