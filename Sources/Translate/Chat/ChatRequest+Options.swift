//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Which tool the model may or must call (`tool_choice`).
public enum ToolChoice: Sendable, Hashable {
    /// The model decides (`"auto"`).
    case auto
    /// No tool call (`"none"`).
    case none
    /// At least one tool call (`"required"`).
    case required
    /// This function (`{"type":"function","function":{"name":…}}`).
    case function(String)
}

/// The shape of the answer (`response_format`).
public enum ResponseFormat: Sendable, Hashable {
    case text
    /// Any JSON object (`json_object`).
    case jsonObject
    /// JSON matching `schema` (`json_schema`).
    case jsonSchema(name: String, schema: JSONValue, strict: Bool?)
}

/// The generation options native dialects translate, read and validated from the body.
public struct ChatOptions: Sendable, Hashable {
    public var temperature: Double?
    public var topP: Double?
    /// `stop` as a list (a single string becomes a one-element list).
    public var stop: [String] = []
    public var seed: Int?
    public var user: String?
    /// `n`, the number of choices.
    public var choiceCount: Int?
    public var toolChoice: ToolChoice?
    public var parallelToolCalls: Bool?
    public var responseFormat: ResponseFormat?
    /// `reasoning_effort`: `minimal`, `low`, `medium` or `high`.
    public var reasoningEffort: String?

    public init() {}
}

extension ChatOptions {
    /// Reads the options of a request body.
    /// - Throws: ``TranslationError/Code/invalidRequest`` naming the field of the wrong type.
    init(reading reader: FieldReader) throws(TranslationError) {
        self.init()
        self.temperature = try Self.number(reader, "temperature")
        self.topP = try Self.number(reader, "top_p")
        self.stop = try Self.stop(reader)
        self.seed = try reader.optionalInt("seed")
        self.user = try reader.optionalString("user")
        self.choiceCount = try reader.optionalCount("n", from: 1, to: ChatRequest.maximumChoices)
        self.toolChoice = try Self.toolChoice(reader)
        self.parallelToolCalls = try reader.optionalBool("parallel_tool_calls")
        self.responseFormat = try Self.responseFormat(reader)
        self.reasoningEffort = try reader.optionalString("reasoning_effort")
    }

    private static func number(_ reader: FieldReader, _ key: String) throws(TranslationError) -> Double? {
        guard let value = reader.optionalValue(key) else { return nil }
        guard let number = value.doubleValue else {
            throw .invalid("'\(reader.param(key))' must be a number, not \(value.typeName).", param: reader.param(key))
        }
        return number
    }

    private static func stop(_ reader: FieldReader) throws(TranslationError) -> [String] {
        switch reader.optionalValue("stop") {
        case nil: return []
        case .string(let stop)?: return [stop]
        case .array(let elements)?:
            var stops: [String] = []
            for element in elements {
                guard let stop = element.stringValue else { throw .invalid("'stop' must be a string or an array of strings.", param: "stop") }
                stops.append(stop)
            }
            return stops
        case let other?:
            throw .invalid("'stop' must be a string or an array of strings, not \(other.typeName).", param: "stop")
        }
    }

    private static func toolChoice(_ reader: FieldReader) throws(TranslationError) -> ToolChoice? {
        switch reader.optionalValue("tool_choice") {
        case nil: return nil
        case .string("auto")?: return .auto
        case .string("none")?: return ToolChoice.none
        case .string("required")?: return .required
        case .object?:
            let choice = try reader.optionalObject("tool_choice")
            guard let function = try choice?.optionalObject("function") else {
                throw .invalid("'tool_choice.function' is required.", param: "tool_choice.function")
            }
            return .function(try function.requiredString("name"))
        case let other?:
            throw .invalid(
                "'tool_choice' must be \"auto\", \"none\", \"required\" or a function object, not \(other.jsonString).",
                param: "tool_choice"
            )
        }
    }

    private static func responseFormat(_ reader: FieldReader) throws(TranslationError) -> ResponseFormat? {
        guard let format = try reader.optionalObject("response_format") else { return nil }
        switch try format.requiredString("type") {
        case "text": return .text
        case "json_object": return .jsonObject
        case "json_schema":
            guard let schema = try format.optionalObject("json_schema") else {
                throw .invalid("'response_format.json_schema' is required.", param: "response_format.json_schema")
            }
            return .jsonSchema(
                name: try schema.optionalString("name") ?? "response",
                schema: schema.optionalValue("schema") ?? [:],
                strict: try schema.optionalBool("strict")
            )
        case let other:
            throw .invalid("'\(other)' is not a supported response_format type.", param: "response_format.type")
        }
    }
}
