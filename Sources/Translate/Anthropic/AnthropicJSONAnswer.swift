//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// OpenAI's `response_format` on Anthropic, which has no such field: the answer is requested as
/// the input of a tool the model must call, and that tool call is turned back into the message
/// *content* (the input as JSON text) with `finish_reason` `stop`.
///
/// - `json_schema`: the tool is named after the schema and its `input_schema` is the schema.
/// - `json_object`: a tool named ``jsonObjectToolName`` taking any object.
///
/// When the client also offers tools of its own (and lets the model choose), the model must
/// call *some* tool (`tool_choice: any`): one of the client's, which stays a tool call, or the
/// answer tool, which becomes the content — the same choice an OpenAI model makes. When the
/// client requires a tool call (`required` or a named function) the answer format does not
/// apply to that turn, and no answer tool is added.
struct AnthropicJSONAnswer {
    /// The answer tool's name for `json_object`.
    static let jsonObjectToolName = "json_object"
    static let defaultDescription = "Reply to the user by calling this tool: its input is your complete answer, as JSON."

    var name: String
    var description: String
    var schema: JSONValue

    /// The name of the answer tool `request` gets, if any. Decoders use it to recognise the call.
    static func toolName(for request: ChatRequest) -> String? {
        switch request.options.toolChoice {
        case .required?, .function?: return nil
        case .auto?, ToolChoice.none?, nil: break
        }
        switch request.options.responseFormat {
        case .jsonSchema(let name, _, _)?: return name
        case .jsonObject?: return Self.jsonObjectToolName
        case .text?, nil: return nil
        }
    }

    /// The answer tool for `request`, or `nil` when the answer is free text.
    /// - Throws: a client error for a schema whose root is not an object (tool inputs are objects).
    init?(request: ChatRequest) throws(TranslationError) {
        guard let name = Self.toolName(for: request) else { return nil }
        self.name = name
        self.description = request.body["response_format"]?["json_schema"]?["description"]?.stringValue ?? Self.defaultDescription
        switch request.options.responseFormat {
        case .jsonSchema(_, let schema, _)?:
            self.schema = try Self.objectSchema(schema)
        default:
            self.schema = ["type": "object", "additionalProperties": true]
        }
    }

    /// The Anthropic tool definition.
    var tool: JSONValue {
        ["name": .string(self.name), "description": .string(self.description), "input_schema": self.schema]
    }

    private static func objectSchema(_ schema: JSONValue) throws(TranslationError) -> JSONValue {
        let param = "response_format.json_schema.schema"
        guard case .object(let object) = schema else {
            throw TranslationError(.invalidRequest, "'\(param)' must be a JSON Schema object.", param: param)
        }
        switch object["type"] {
        case nil, "object"?:
            return .object(AnthropicRequestEncoder.declaringObject(object))
        case let type?:
            throw TranslationError(
                .unsupportedFeature,
                "Anthropic can only return JSON objects in structured answers; a schema of type \(type.jsonString) cannot be expressed.",
                param: param
            )
        }
    }
}
