//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A JSON object that keeps its members in insertion order.
///
/// Lookups are linear, which beats hashing for the handful of keys an API object has.
/// Equality ignores order: two objects are equal when they have the same keys with equal values.
public struct JSONObject: Sendable {
    /// One `"key": value` pair.
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
    }

    public private(set) var members: [Member]

    public init() {
        self.members = []
    }

    public init(_ pairs: some Sequence<(String, JSONValue)>) {
        self.members = []
        for (key, value) in pairs {
            self[key] = value
        }
    }

    public var count: Int { self.members.count }
    public var isEmpty: Bool { self.members.isEmpty }
    public var keys: [String] { self.members.map(\.key) }

    /// The value for `key`. Assigning `nil` removes the member; assigning to an existing key
    /// replaces its value in place, so the key keeps its position.
    public subscript(key: String) -> JSONValue? {
        get {
            for member in self.members where member.key == key {
                return member.value
            }
            return nil
        }
        set {
            let index = self.members.firstIndex { $0.key == key }
            switch (index, newValue) {
            case (let index?, let value?):
                self.members[index].value = value
            case (let index?, nil):
                self.members.remove(at: index)
            case (nil, let value?):
                self.members.append(Member(key: key, value: value))
            case (nil, nil):
                break
            }
        }
    }

    /// Removes `key` and returns its value, if it was present.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let index = self.members.firstIndex(where: { $0.key == key }) else { return nil }
        return self.members.remove(at: index).value
    }

    /// Appends a member without checking for an existing key. The parser uses it for speed
    /// and falls back to the subscript when it sees a key twice.
    mutating func appendUnchecked(key: String, value: JSONValue) {
        self.members.append(Member(key: key, value: value))
    }
}

extension JSONObject: Sequence {
    public func makeIterator() -> IndexingIterator<[Member]> {
        self.members.makeIterator()
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }
}

extension JSONObject: Hashable {
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.members.allSatisfy { rhs[$0.key] == $0.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.count)
        var combined = 0
        for member in self.members {
            combined ^= member.hashValue
        }
        hasher.combine(combined)
    }
}
