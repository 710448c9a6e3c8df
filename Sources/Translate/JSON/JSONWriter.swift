//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Writes one flat JSON object straight into bytes, without building a ``JSONValue`` tree.
///
/// For hot paths that emit the same shape every time (one usage line per request): keys are
/// static strings, so no key is allocated, and commas are placed automatically.
///
/// ```swift
/// var writer = JSONObjectWriter()
/// writer.field("kind", "usage")
/// writer.field("tokens", 42)
/// writer.finish()   // {"kind":"usage","tokens":42}
/// ```
public struct JSONObjectWriter: Sendable {
    public private(set) var bytes: [UInt8]
    private var isEmpty = true

    public init(reservingCapacity capacity: Int = 512) {
        self.bytes = []
        self.bytes.reserveCapacity(capacity)
        self.bytes.append(UInt8(ascii: "{"))
    }

    public mutating func field(_ key: StaticString, _ value: String?) {
        self.key(key)
        if let value { JSONValue.writeString(value, to: &self.bytes) } else { self.appendNull() }
    }

    public mutating func field(_ key: StaticString, _ value: Int?) {
        self.key(key)
        if let value { self.bytes.append(contentsOf: String(value).utf8) } else { self.appendNull() }
    }

    public mutating func field(_ key: StaticString, _ value: Bool) {
        self.key(key)
        self.bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func field(_ key: StaticString, _ value: JSONValue) {
        self.key(key)
        value.write(to: &self.bytes)
    }

    /// A number field from its literal text (see ``JSONNumber``); `nil` writes `null`.
    public mutating func field(_ key: StaticString, number: JSONNumber?) {
        self.key(key)
        if let number { self.bytes.append(contentsOf: number.literal.utf8) } else { self.appendNull() }
    }

    public mutating func field(_ key: StaticString, strings: [String]) {
        self.key(key)
        self.bytes.append(UInt8(ascii: "["))
        for (index, string) in strings.enumerated() {
            if index > 0 { self.bytes.append(UInt8(ascii: ",")) }
            JSONValue.writeString(string, to: &self.bytes)
        }
        self.bytes.append(UInt8(ascii: "]"))
    }

    /// A field whose key is only known at run time (configured labels), escaped like any string.
    public mutating func field(dynamicKey key: String, _ value: String) {
        if !self.isEmpty { self.bytes.append(UInt8(ascii: ",")) }
        self.isEmpty = false
        JSONValue.writeString(key, to: &self.bytes)
        self.bytes.append(UInt8(ascii: ":"))
        JSONValue.writeString(value, to: &self.bytes)
    }

    /// Closes the object and returns its bytes.
    public consuming func finish() -> [UInt8] {
        self.bytes.append(UInt8(ascii: "}"))
        return self.bytes
    }

    private mutating func key(_ key: StaticString) {
        if !self.isEmpty { self.bytes.append(UInt8(ascii: ",")) }
        self.isEmpty = false
        self.bytes.append(UInt8(ascii: "\""))
        self.bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        self.bytes.append(contentsOf: "\":".utf8)
    }

    private mutating func appendNull() {
        self.bytes.append(contentsOf: "null".utf8)
    }
}
