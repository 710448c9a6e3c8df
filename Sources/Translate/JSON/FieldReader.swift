//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Reads typed fields of a JSON object, throwing a client error that names the field's path.
///
/// `null` counts as absent for the `optional…` accessors, as it does for OpenAI.
struct FieldReader {
    let object: JSONObject
    /// The path of `object` itself, `nil` at the document root.
    let path: String?

    init(object: JSONObject, path: String? = nil) {
        self.object = object
        self.path = path
    }

    /// A reader for `value`, which must be an object.
    init(_ value: JSONValue, path: String) throws(TranslationError) {
        guard case .object(let object) = value else {
            throw .invalid("'\(path)' must be an object, not \(value.typeName).", param: path)
        }
        self.init(object: object, path: path)
    }

    func param(_ key: String) -> String {
        guard let path else { return key }
        return "\(path).\(key)"
    }

    func optionalValue(_ key: String) -> JSONValue? {
        guard let value = self.object[key], !value.isNull else { return nil }
        return value
    }

    func requiredString(_ key: String) throws(TranslationError) -> String {
        guard let string = try self.optionalString(key) else {
            throw .invalid("'\(self.param(key))' is required.", param: self.param(key))
        }
        return string
    }

    func optionalString(_ key: String) throws(TranslationError) -> String? {
        guard let value = self.optionalValue(key) else { return nil }
        guard case .string(let string) = value else { throw self.typeError(key, expected: "a string", got: value) }
        return string
    }

    func optionalBool(_ key: String) throws(TranslationError) -> Bool? {
        guard let value = self.optionalValue(key) else { return nil }
        guard case .bool(let bool) = value else { throw self.typeError(key, expected: "a boolean", got: value) }
        return bool
    }

    func optionalInt(_ key: String) throws(TranslationError) -> Int? {
        guard let value = self.optionalValue(key) else { return nil }
        guard let int = value.intValue else { throw self.typeError(key, expected: "an integer", got: value) }
        return int
    }

    /// An integer from `minimum` to `maximum`, or 400 naming the field: a count or a limit the
    /// sidecar computes with (`max_tokens`, `n`), so it can neither be negative nor overflow a sum.
    func optionalCount(_ key: String, from minimum: Int = 0, to maximum: Int) throws(TranslationError) -> Int? {
        guard let count = try self.optionalInt(key) else { return nil }
        guard (minimum...maximum).contains(count) else {
            throw .invalid("'\(self.param(key))' must be an integer from \(minimum) to \(maximum), not \(count).", param: self.param(key))
        }
        return count
    }

    func requiredArray(_ key: String) throws(TranslationError) -> [JSONValue] {
        guard let array = try self.optionalArray(key) else {
            throw .invalid("'\(self.param(key))' is required.", param: self.param(key))
        }
        return array
    }

    func optionalArray(_ key: String) throws(TranslationError) -> [JSONValue]? {
        guard let value = self.optionalValue(key) else { return nil }
        guard case .array(let array) = value else { throw self.typeError(key, expected: "an array", got: value) }
        return array
    }

    func optionalObject(_ key: String) throws(TranslationError) -> FieldReader? {
        guard let value = self.optionalValue(key) else { return nil }
        return try FieldReader(value, path: self.param(key))
    }

    private func typeError(_ key: String, expected: String, got value: JSONValue) -> TranslationError {
        .invalid("'\(self.param(key))' must be \(expected), not \(value.typeName).", param: self.param(key))
    }
}
