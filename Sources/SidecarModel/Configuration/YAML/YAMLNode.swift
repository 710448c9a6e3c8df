//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A node of a YAML document, with the line it starts on (1-based) for error messages.
package struct YAMLNode: Sendable, Hashable {
    package enum Kind: Sendable, Hashable {
        /// A scalar as written. `quoted` is true for quoted and block scalars, which are always
        /// strings; plain scalars resolve to null, booleans and numbers by the YAML 1.2 core schema.
        case scalar(String, quoted: Bool)
        /// Key-value pairs in document order (keys are unique).
        case mapping([Pair])
        case sequence([YAMLNode])
    }

    package struct Pair: Sendable, Hashable {
        package var key: YAMLNode
        package var value: YAMLNode
    }

    package var kind: Kind
    package var line: Int

    /// A plain scalar that means null: empty, `~` or `null`.
    package var isNull: Bool {
        guard case .scalar(let text, quoted: false) = self.kind else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(text)
    }

    /// The scalar's text (quoted or not); `nil` for collections and null.
    package var string: String? {
        guard case .scalar(let text, _) = self.kind, !self.isNull else { return nil }
        return text
    }

    /// A plain scalar that is an integer (`42`, `-7`, `0x1F`).
    package var int: Int? {
        guard case .scalar(let text, quoted: false) = self.kind else { return nil }
        if text.hasPrefix("0x") { return Int(text.dropFirst(2), radix: 16) }
        if text.hasPrefix("0o") { return Int(text.dropFirst(2), radix: 8) }
        return Int(text.hasPrefix("+") ? String(text.dropFirst()) : text)
    }

    /// A plain scalar that is a boolean (`true`, `False`, `TRUE`…).
    package var bool: Bool? {
        guard case .scalar(let text, quoted: false) = self.kind else { return nil }
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }
}
