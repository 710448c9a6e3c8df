//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials

extension StoreSettings {
    /// Decodes `store:`; problems are reported with their line and field. `url` is required.
    package static func decode(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> StoreSettings? {
        let entries = reader.mapping(value, allowedKeys: Self.keys)
        guard let url = entries.first(where: { $0.key == "url" })?.value else {
            reader.report(value, path: value.child("url"), "is required: redis://[user[:password]@]host:port/db (rediss:// for TLS)")
            return nil
        }
        guard var settings = Self.decodeURL(url, reader: &reader) else { return nil }
        for (key, child) in entries {
            switch key {
            case "ca_file":
                guard settings.tls else {
                    reader.report(child, "is for TLS: only with a rediss:// url")
                    continue
                }
                settings.caFile = ProviderConfiguration.decodeCAFile(child, reader: &reader)
            case "username": settings.username = Self.printable(child, reader: &reader) ?? settings.username
            case "password_env": settings.passwordSource = reader.string(child).map(KeySource.environment) ?? settings.passwordSource
            case "password_file": settings.passwordSource = reader.path(child).map(KeySource.file) ?? settings.passwordSource
            case "connect_timeout":
                settings.connectTimeout =
                    Self.duration(child, in: .milliseconds(1)...(.seconds(10)), "1ms to 10s", reader: &reader) ?? settings.connectTimeout
            case "timeout":
                settings.timeout = Self.duration(child, in: .milliseconds(1)...(.seconds(10)), "1ms to 10s", reader: &reader) ?? settings.timeout
            case "reservation_ttl":
                settings.reservationTTL =
                    Self.duration(child, in: .seconds(10)...(.seconds(86_400)), "10s to 24h", reader: &reader) ?? settings.reservationTTL
            case "key_prefix":
                guard let prefix = Self.printable(child, reader: &reader) else { continue }
                guard prefix.utf8.count <= 64, !prefix.contains(" ") else {
                    reader.report(child, "must be at most 64 characters without spaces")
                    continue
                }
                settings.keyPrefix = prefix
            case "on_store_failure":
                guard let text = reader.string(child) else { continue }
                guard let policy = FailurePolicy(rawValue: text) else {
                    reader.report(child, "must be one of \(FailurePolicy.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
                    continue
                }
                settings.onFailure = policy
            default: break
            }
        }
        if entries.contains(where: { $0.key == "password_env" }) && entries.contains(where: { $0.key == "password_file" }) {
            reader.report(value, path: value.child("password_file"), "set password_env or password_file, not both")
        }
        if let source = settings.passwordSource {
            settings.password = ProviderConfiguration.readKey(source, environment: reader.environment)
            if settings.password == nil { reader.report(value, path: value.child("password"), "no password: \(source.hint)") }
        }
        return settings
    }

    private static func decodeURL(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> StoreSettings? {
        guard let text = Self.printable(value, reader: &reader) else { return nil }
        switch Self.parse(url: text) {
        case .success(let settings): return settings
        case .failure(let problem):
            reader.report(value, problem.message)
            return nil
        }
    }

    /// Why a store URL cannot be used; the message never holds the URL's password.
    package struct URLProblem: Error, Sendable {
        package var message: String
    }

    /// Settings for `redis://[user[:password]@]host[:port][/db]`, or `rediss://…` for TLS (port
    /// 6379 and database 0 by default either way), the rest at their defaults. A password in the
    /// URL is kept as a secret, but a configuration file is rarely one: prefer `password_env` or
    /// `password_file`.
    package static func parse(url text: String) -> Result<StoreSettings, URLProblem> {
        guard let scheme = ["redis://", "rediss://"].first(where: text.hasPrefix) else {
            return .failure(URLProblem(message: "must be redis://[user[:password]@]host:port/db (rediss:// for TLS)"))
        }
        var rest = Substring(text.dropFirst(scheme.count))
        var user: Substring?
        var password: Substring?
        if let at = rest.lastIndex(of: "@") {
            let login = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = login.firstIndex(of: ":") {
                user = login[..<colon]
                password = login[login.index(after: colon)...]
            } else {
                user = login
            }
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let (hostPort, path) = (rest[..<slash], rest[slash...].dropFirst())
        guard let (host, port) = Self.hostAndPort(hostPort), let database = path.isEmpty ? 0 : Int(path), (0...1_000_000).contains(database) else {
            return .failure(
                URLProblem(
                    message:
                        "must be redis://[user[:password]@]host:port/db with a port from 1 to 65535 and a database number, not '\(Self.redacted(text))'"
                )
            )
        }
        var settings = StoreSettings(host: host)
        settings.tls = scheme == "rediss://"
        settings.port = port
        settings.database = database
        let login = (user.map(Self.percentDecoded), password.map(Self.percentDecoded))
        guard login.0 != .some(nil), login.1 != .some(nil) else {
            return .failure(URLProblem(message: "the user or password of '\(Self.redacted(text))' holds a malformed %-escape or a control character"))
        }
        if let name = login.0 ?? nil, !name.isEmpty { settings.username = name }
        if let secret = login.1 ?? nil, !secret.isEmpty { settings.password = Secret(value: secret) }
        return .success(settings)
    }

    private static func hostAndPort(_ text: Substring) -> (String, Int)? {
        var host = text
        var port = 6379
        if let colon = text.lastIndex(of: ":"), !text.hasSuffix("]") {
            guard let number = Int(text[text.index(after: colon)...]), (1...65_535).contains(number) else { return nil }
            host = text[..<colon]
            port = number
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || "-.:_".contains($0) }) else { return nil }
        return (String(host), port)
    }

    /// `text` with `%XX` escapes decoded; `nil` when an escape is malformed or the result is not
    /// printable UTF-8 (a control character cannot reach the AUTH command or a log line).
    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(), let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return nil }
            bytes.append(value)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self), decoded.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F })
        else { return nil }
        return decoded
    }

    /// The URL without its password, for messages.
    private static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let slashes = url.firstRange(of: "://"), slashes.upperBound <= at,
            let colon = url[slashes.upperBound..<at].firstIndex(of: ":")
        else { return url }
        return String(url[...colon]) + "<redacted>" + String(url[at...])
    }

    /// A string of printable ASCII (no control character can reach a log line or a command).
    private static func printable(_ value: ConfigurationReader.Value, reader: inout ConfigurationReader) -> String? {
        guard let text = reader.string(value) else { return nil }
        guard !text.isEmpty, text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            reader.report(value, "must be printable ASCII without spaces or control characters")
            return nil
        }
        return text
    }

    private static func duration(
        _ value: ConfigurationReader.Value,
        in range: ClosedRange<Duration>,
        _ text: String,
        reader: inout ConfigurationReader
    ) -> Duration? {
        guard let duration = reader.duration(value) else { return nil }
        guard range.contains(duration) else {
            reader.report(value, "must be from \(text)")
            return nil
        }
        return duration
    }
}
