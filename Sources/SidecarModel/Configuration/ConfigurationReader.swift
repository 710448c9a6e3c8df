//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials

/// Reads typed values out of a YAML tree and collects every problem instead of stopping at the first.
///
/// Strings are `${VAR}`-interpolated from the environment (`${VAR:-default}` gives a default);
/// an unset variable without a default is a problem. Unknown keys are problems too, so a typo
/// such as `base_ulr` is reported rather than silently ignored.
package struct ConfigurationReader {
    /// A YAML node and the dotted path that leads to it.
    package struct Value {
        package var node: YAMLNode
        package var path: String

        package func child(_ key: String) -> String { self.path.isEmpty ? key : "\(self.path).\(key)" }
    }

    package let file: String
    package let environment: [String: String]
    package private(set) var problems: [ConfigurationProblem] = []

    package init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    package mutating func report(_ value: Value?, path: String? = nil, _ message: String) {
        self.problems.append(
            ConfigurationProblem(file: self.file, line: value?.node.line, field: path ?? value?.path ?? "", message: message)
        )
    }

    /// The entries of a mapping, in file order; reports keys not in `allowedKeys` (when given).
    package mutating func mapping(_ value: Value, allowedKeys: Set<String>? = nil) -> [(key: String, value: Value)] {
        guard case .mapping(let pairs) = value.node.kind else {
            self.report(value, "must be a mapping of keys to values")
            return []
        }
        var entries: [(key: String, value: Value)] = []
        for pair in pairs {
            guard let key = pair.key.string else {
                self.report(Value(node: pair.key, path: value.path), "keys must be strings")
                continue
            }
            let child = Value(node: pair.value, path: value.child(key))
            if let allowedKeys, !allowedKeys.contains(key) {
                let known = allowedKeys.sorted().joined(separator: ", ")
                self.report(child, "unknown field '\(key)' (known fields: \(known))")
                continue
            }
            entries.append((key, child))
        }
        return entries
    }

    package mutating func string(_ value: Value) -> String? {
        guard let text = value.node.string else {
            self.report(value, "must be a string")
            return nil
        }
        return self.interpolate(text, at: value)
    }

    /// A file path: absolute as written, or relative to the directory of the configuration file.
    package mutating func path(_ value: Value) -> String? {
        guard let path = self.string(value) else { return nil }
        guard !path.isEmpty, !path.hasPrefix("/"), let slash = self.file.lastIndex(of: "/") else { return path }
        return String(self.file[...slash]) + path
    }

    package mutating func int(_ value: Value, in range: ClosedRange<Int>) -> Int? {
        guard let int = value.node.int else {
            self.report(value, "must be an integer")
            return nil
        }
        guard range.contains(int) else {
            self.report(value, "must be between \(range.lowerBound) and \(range.upperBound)")
            return nil
        }
        return int
    }

    package mutating func bool(_ value: Value) -> Bool? {
        guard let bool = value.node.bool else {
            self.report(value, "must be true or false")
            return nil
        }
        return bool
    }

    /// A price per million tokens (`0.28`), read from the scalar's text so it stays exact.
    package mutating func pricePerMillion(_ value: Value) -> Money? {
        guard let scalar = value.node.string, let text = self.interpolate(scalar, at: value),
            let price = Price.perToken(fromPerMillion: text)
        else {
            self.report(value, "must be a non-negative number with at most 6 decimals (a price per million tokens)")
            return nil
        }
        return price
    }

    package mutating func stringList(_ value: Value) -> [String] {
        guard case .sequence(let sequence) = value.node.kind else {
            self.report(value, "must be a list of strings")
            return []
        }
        return sequence.enumerated().compactMap { index, node in
            self.string(Value(node: node, path: "\(value.path)[\(index)]"))
        }
    }

    package mutating func stringMap(_ value: Value) -> [(String, String)] {
        self.mapping(value).compactMap { key, child in self.string(child).map { (key, $0) } }
    }

    /// A duration such as `250ms`, `10s`, `5m` or `1h`; a bare number means seconds.
    package mutating func duration(_ value: Value) -> Duration? {
        guard let text = self.string(value) else { return nil }
        guard let duration = Self.parseDuration(text) else {
            self.report(value, "must be a duration such as 500ms, 10s, 5m or 1h, not '\(text)'")
            return nil
        }
        return duration
    }

    /// A byte size such as `512KiB`, `4MiB`, `1GB`; a bare number means bytes.
    package mutating func byteSize(_ value: Value) -> Int? {
        guard let text = self.string(value) else { return nil }
        guard let size = Self.parseByteSize(text) else {
            self.report(value, "must be a size such as 512KiB or 4MiB, not '\(text)'")
            return nil
        }
        return size
    }

    private mutating func interpolate(_ text: String, at value: Value) -> String? {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let start = rest.firstRange(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                self.report(value, "unterminated '${' in '\(text)'")
                return nil
            }
            let expression = rest[start.upperBound..<end]
            let (name, fallback) = Self.splitDefault(expression)
            if let resolved = self.environment[name] ?? fallback {
                result += resolved
            } else {
                self.report(value, "environment variable \(name) is not set (write ${\(name):-default} to give a default)")
                return nil
            }
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    private static func splitDefault(_ expression: Substring) -> (String, String?) {
        guard let separator = expression.firstRange(of: ":-") else { return (String(expression), nil) }
        return (String(expression[..<separator.lowerBound]), String(expression[separator.upperBound...]))
    }

    package static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        let trimmed = text.trimmed
        for (suffix, seconds) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count)), number >= 0 else { return nil }
            return Self.integer((number * seconds * 1000).rounded()).map { .milliseconds($0) }
        }
        return Double(trimmed).flatMap { $0 >= 0 ? Self.integer(($0 * 1000).rounded()).map { .milliseconds($0) } : nil }
    }

    package static func parseByteSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1),
        ]
        let trimmed = text.trimmed
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            guard let number = Double(trimmed.dropLast(suffix.count).trimmed), number >= 0 else { return nil }
            return Self.integer(number * Double(factor))
        }
        return Int(trimmed).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// `value` without its fraction, or nil when it is not finite or beyond `Int.max` (`1e300KiB`,
    /// `infs`), so a huge number in the file is a problem reported like any other, not a trap.
    private static func integer(_ value: Double) -> Int? {
        value.isFinite && value < 0x1p63 ? Int(value) : nil
    }
}
