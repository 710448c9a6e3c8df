//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Converts OpenAI's JSON Schemas (tool `parameters`, `response_format.json_schema.schema`) to
/// the OpenAPI 3.0 subset of Gemini's `Schema` object.
///
/// Gemini's `Schema` knows `type` (upper case), `format`, `title`, `description`, `nullable`,
/// `enum` (strings), `properties`, `required`, `items`, `anyOf`, `propertyOrdering`,
/// `minItems`/`maxItems`, `minLength`/`maxLength`, `minProperties`/`maxProperties`, `pattern`,
/// `minimum`/`maximum` (plus `default`/`example`) and rejects any other key with HTTP 400.
/// The conversion:
/// - maps `type` to upper case; `["T","null"]`, `anyOf`/`oneOf` with a `{"type":"null"}` branch
///   and `null` in `enum` become `nullable: true`; `oneOf` becomes `anyOf`; a one-element `allOf`
///   is merged; `const` becomes a one-value `enum`; a missing `type` is inferred from
///   `properties`/`items`/`enum`;
/// - inlines local `$ref`s (`#/$defs/…`, `#/definitions/…`, any `#/` pointer), sibling keys winning;
/// - keeps `format` only where Gemini honours it (`enum`/`date-time`, `float`/`double`,
///   `int32`/`int64`);
/// - drops keywords that only annotate or validate and whose loss cannot make a valid answer
///   invalid for the client's own validator in practice: `$schema`, `$id`, `$comment`, `$defs`,
///   `definitions`, `default`, `examples`, `example`, `readOnly`, `writeOnly`, `deprecated`,
///   `additionalProperties`/`unevaluatedProperties` when boolean, `exclusiveMinimum`,
///   `exclusiveMaximum`, `multipleOf`, `uniqueItems`, `content*`, `strict` and unknown keywords
///   (which JSON Schema itself ignores);
/// - adds `propertyOrdering` to response schemas, since Gemini otherwise orders keys alphabetically.
///
/// A schema the subset cannot express — a typed `additionalProperties` (a map), a recursive
/// `$ref`, `allOf` with several schemas, `not`, `if`/`then`/`else`, tuples, numeric `enum`s, a
/// value of any type, an object without properties below the root — is sent unchanged (minus
/// `$schema`) in the JSON-Schema field the current API also accepts (`parametersJsonSchema`,
/// `responseJsonSchema`) rather than weakened or refused. Only malformed schemas and references
/// outside the document are refused, with a 400 naming the field's path.
enum GeminiSchema {
    /// Where a converted schema goes.
    enum Placement: Equatable {
        /// No schema at all (a function without parameters).
        case omitted
        /// The OpenAPI-subset `Schema` (`parameters`, `responseSchema`).
        case schema(JSONObject)
        /// The client's JSON Schema (`parametersJsonSchema`, `responseJsonSchema`).
        case jsonSchema(JSONValue)
    }

    /// A function's `parameters`: an object schema; one without properties is omitted, as Gemini
    /// rejects `OBJECT` schemas with empty `properties`.
    static func functionParameters(_ schema: JSONValue, path: String) throws(TranslationError) -> Placement {
        var converter = Converter(root: schema, ordersProperties: false)
        do throws(Converter.Failure) {
            let converted = try converter.convert(schema, path: path, references: [], isRoot: true)
            guard converted["type"] == "OBJECT" else {
                throw Converter.Failure.invalid(param: path, "Function parameters must be an object schema ('type': 'object').")
            }
            return converted["properties"] == nil ? .omitted : .schema(converted)
        } catch {
            return try Self.placement(for: error, original: schema)
        }
    }

    /// A `response_format.json_schema.schema` (any type at the root).
    static func responseSchema(_ schema: JSONValue, path: String) throws(TranslationError) -> Placement {
        var converter = Converter(root: schema, ordersProperties: true)
        do throws(Converter.Failure) {
            return .schema(try converter.convert(schema, path: path, references: []))
        } catch {
            return try Self.placement(for: error, original: schema)
        }
    }

    private static func placement(for failure: Converter.Failure, original: JSONValue) throws(TranslationError) -> Placement {
        switch failure {
        case .inexpressible:
            var schema = original
            schema["$schema"] = nil
            return .jsonSchema(schema)
        case .invalid(let param, let message):
            throw TranslationError(.invalidRequest, message, param: param)
        case .unsupported(let param, let message):
            throw TranslationError(.unsupportedFeature, message, param: param)
        }
    }

    /// The JSON Schema type names and Gemini's.
    static let types = [
        "string": "STRING", "number": "NUMBER", "integer": "INTEGER", "boolean": "BOOLEAN", "array": "ARRAY", "object": "OBJECT", "null": "NULL",
    ]

    /// The formats Gemini honours, by Gemini type.
    static let formats: [String: Set<String>] = [
        "STRING": ["enum", "date-time"], "NUMBER": ["float", "double"], "INTEGER": ["int32", "int64"],
    ]

    /// Keywords whose meaning the subset cannot carry, so the schema goes as JSON Schema.
    static let inexpressibleKeywords: Set<String> = [
        "not", "if", "then", "else", "prefixItems", "contains", "minContains", "maxContains", "patternProperties", "propertyNames",
        "dependentSchemas", "dependentRequired", "dependencies", "unevaluatedItems", "$dynamicRef", "$recursiveRef",
    ]

    struct Converter {
        enum Failure: Error {
            /// Valid JSON Schema that the OpenAPI subset cannot express.
            case inexpressible
            /// Not a valid schema.
            case invalid(param: String, String)
            /// Valid, but impossible to send to Gemini in any form.
            case unsupported(param: String, String)
        }

        let root: JSONValue
        let ordersProperties: Bool
        /// Schemas left to convert before `$ref` expansion is judged too large.
        var budget = 5000
        /// Schemas being converted inside each other. `$ref` expansion can nest far deeper than
        /// the parsed request (a chain of definitions), so past ``maximumDepth`` (64, which keeps
        /// the output within the 128 levels of JSON the sidecar accepts) the schema is judged
        /// inexpressible and sent as written, instead of recursing until the stack overflows.
        var depth = 0
        static let maximumDepth = 64

        init(root: JSONValue, ordersProperties: Bool) {
            self.root = root
            self.ordersProperties = ordersProperties
        }

        /// Converts the schema `value` found at `path`. `references` are the `$ref`s being
        /// expanded (a repeat is recursion); `isRoot` marks function parameters' root, which is an
        /// object even when untyped and may have no properties.
        mutating func convert(_ value: JSONValue, path: String, references: [String], isRoot: Bool = false) throws(Failure) -> JSONObject {
            self.budget -= 1
            guard self.budget >= 0, self.depth < Self.maximumDepth else { throw .inexpressible }
            self.depth += 1
            defer { self.depth -= 1 }
            guard case .object(var schema) = value else {
                if case .bool = value { throw .inexpressible }
                throw .invalid(param: path, "'\(path)' must be a JSON Schema object, not \(value.typeName).")
            }
            if let reference = schema.removeValue(forKey: "$ref") {
                let target = try self.resolve(reference, path: "\(path).$ref", references: references)
                return try self.convert(
                    .object(Self.merged(target, schema)),
                    path: path,
                    references: references + [reference.stringValue ?? ""],
                    isRoot: isRoot
                )
            }
            if let allOf = schema.removeValue(forKey: "allOf") {
                guard case .array(let schemas) = allOf else { throw .invalid(param: "\(path).allOf", "'\(path).allOf' must be an array.") }
                guard schemas.count == 1, case .object(let only) = schemas[0] else { throw .inexpressible }
                return try self.convert(.object(Self.merged(only, schema)), path: path, references: references, isRoot: isRoot)
            }
            var output = JSONObject()
            var nullable = schema["nullable"]?.boolValue ?? false
            var types = try Self.typeNames(schema["type"], path: "\(path).type")
            if types.contains("NULL"), types.count > 1 {
                nullable = true
                types.removeAll { $0 == "NULL" }
            }
            if try self.convertAlternatives(of: schema, into: &output, nullable: &nullable, path: path, references: references) {
                guard types.isEmpty else { throw .inexpressible }
            }
            switch types.count {
            case 0: break
            case 1: output["type"] = .string(types[0])
            default:
                guard output["anyOf"] == nil else { throw .inexpressible }
                output["anyOf"] = .array(types.map { ["type": .string($0)] })
            }
            for member in schema {
                try self.convertKeyword(member.key, member.value, into: &output, nullable: &nullable, path: path, references: references)
            }
            if output["type"] == nil, output["anyOf"] == nil {
                if output["properties"] != nil {
                    output["type"] = "OBJECT"
                } else if output["items"] != nil {
                    output["type"] = "ARRAY"
                } else if output["enum"] != nil {
                    output["type"] = "STRING"
                } else if isRoot {
                    output["type"] = "OBJECT"  // function parameters are an object
                } else {
                    throw .inexpressible  // a value of any type
                }
            }
            if let format = output["format"]?.stringValue,
                !(output["type"]?.stringValue.flatMap { GeminiSchema.formats[$0] }?.contains(format) ?? false)
            {
                output["format"] = nil
            }
            if output["enum"] != nil, output["type"] != "STRING" { throw .inexpressible }
            if output["type"] == "OBJECT", output["properties"] == nil, !isRoot { throw .inexpressible }
            if nullable { output["nullable"] = true }
            return output
        }

        /// `anyOf` / `oneOf`: null branches become `nullable`, one remaining branch is merged.
        /// Returns whether there were alternatives.
        private mutating func convertAlternatives(
            of schema: JSONObject,
            into output: inout JSONObject,
            nullable: inout Bool,
            path: String,
            references: [String]
        ) throws(Failure) -> Bool {
            let keys = ["anyOf", "oneOf"].filter { schema[$0] != nil }
            guard let key = keys.first else { return false }
            guard keys.count == 1 else { throw .inexpressible }
            guard case .array(let alternatives)? = schema[key], !alternatives.isEmpty else {
                throw .invalid(param: "\(path).\(key)", "'\(path).\(key)' must be a non-empty array of schemas.")
            }
            var converted: [JSONObject] = []
            for (index, alternative) in alternatives.enumerated() {
                if alternative["type"] == "null" {
                    nullable = true
                    continue
                }
                converted.append(try self.convert(alternative, path: "\(path).\(key)[\(index)]", references: references))
            }
            if converted.count == 1 {
                output = converted[0]
                if output["nullable"] == true {
                    nullable = true
                    output["nullable"] = nil
                }
            } else if !converted.isEmpty {
                output["anyOf"] = .array(converted.map(JSONValue.object))
            }
            return true
        }

        private mutating func convertKeyword(
            _ key: String,
            _ value: JSONValue,
            into output: inout JSONObject,
            nullable: inout Bool,
            path: String,
            references: [String]
        ) throws(Failure) {
            let param = "\(path).\(key)"
            switch key {
            case "type", "anyOf", "oneOf", "nullable":
                break  // handled by the caller
            case "properties":
                guard case .object(let properties) = value else { throw .invalid(param: param, "'\(param)' must be an object.") }
                var converted = JSONObject()
                for property in properties {
                    converted[property.key] = .object(try self.convert(property.value, path: "\(param).\(property.key)", references: references))
                }
                guard !converted.isEmpty else { break }
                output["properties"] = .object(converted)
                if self.ordersProperties, converted.count > 1 { output["propertyOrdering"] = .array(converted.keys.map(JSONValue.string)) }
            case "items":
                guard case .object = value else {
                    if case .array = value { throw .inexpressible }  // a tuple
                    if case .bool = value { throw .inexpressible }
                    throw .invalid(param: param, "'\(param)' must be a schema object.")
                }
                output["items"] = .object(try self.convert(value, path: param, references: references))
            case "required":
                guard case .array(let names) = value, names.allSatisfy({ $0.stringValue != nil }) else {
                    throw .invalid(param: param, "'\(param)' must be an array of property names.")
                }
                if !names.isEmpty { output["required"] = value }
            case "enum":
                guard case .array(let values) = value else { throw .invalid(param: param, "'\(param)' must be an array.") }
                var strings: [JSONValue] = []
                for element in values {
                    switch element {
                    case .null: nullable = true
                    case .string: strings.append(element)
                    default: throw .inexpressible  // Gemini's enum holds strings only
                    }
                }
                output["enum"] = .array(strings)
            case "const":
                switch value {
                case .null: nullable = true
                case .string: output["enum"] = [value]
                default: throw .inexpressible
                }
            case "title", "description", "pattern", "format":
                if case .string = value { output[key] = value }
            case "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties":
                if value.intValue != nil { output[key] = value }
            case "minimum", "maximum":
                if value.doubleValue != nil { output[key] = value }
            case "additionalProperties", "unevaluatedProperties":
                switch value {
                case .bool: break
                case .object(let schema) where schema.isEmpty: break
                default: throw .inexpressible  // a map: values of one schema under any key
                }
            case _ where GeminiSchema.inexpressibleKeywords.contains(key):
                throw .inexpressible
            default:
                break  // an annotation, a validation-only keyword, or unknown
            }
        }

        /// Resolves a local JSON pointer (`#/$defs/Name`) against the root schema.
        private func resolve(_ reference: JSONValue, path: String, references: [String]) throws(Failure) -> JSONObject {
            guard let pointer = reference.stringValue else { throw .invalid(param: path, "'\(path)' must be a string.") }
            guard pointer.hasPrefix("#") else {
                throw .unsupported(param: path, "Only references inside the schema ('#/…') can be sent to Gemini, not '\(pointer)'.")
            }
            guard !references.contains(pointer) else { throw .inexpressible }  // recursive
            var target = self.root
            for token in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
                let key = token.replacing("~1", with: "/").replacing("~0", with: "~")
                if let index = Int(key), let element = target[index] {
                    target = element
                } else if let member = target[String(key)] {
                    target = member
                } else {
                    throw .invalid(param: path, "'\(pointer)' does not point to anything in the schema.")
                }
            }
            guard case .object(let object) = target else {
                if case .bool = target { throw .inexpressible }
                throw .invalid(param: path, "'\(pointer)' does not point to a schema object.")
            }
            return object
        }

        private static func merged(_ base: JSONObject, _ overrides: JSONObject) -> JSONObject {
            var merged = base
            for member in overrides { merged[member.key] = member.value }
            return merged
        }

        private static func typeNames(_ value: JSONValue?, path: String) throws(Failure) -> [String] {
            var names: [String] = []
            switch value {
            case nil: return []
            case .string(let name)?: names = [name]
            case .array(let elements)?:
                for element in elements {
                    guard let name = element.stringValue else { throw .invalid(param: path, "'\(path)' must hold type names.") }
                    names.append(name)
                }
            case let other?:
                throw .invalid(param: path, "'\(path)' must be a type name or an array of them, not \(other.typeName).")
            }
            var types: [String] = []
            for name in names {
                guard let type = GeminiSchema.types[name] else {
                    throw .invalid(param: path, "'\(name)' is not a JSON Schema type.")
                }
                if !types.contains(type) { types.append(type) }
            }
            return types
        }
    }
}
