//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

/// JSON Schema → Gemini's OpenAPI-subset `Schema`, and what happens when it cannot be expressed.
@Suite struct GeminiSchemaTests {
    let gemini = GeminiDialect()

    /// The function declaration Gemini gets for a tool whose parameters are `schema`.
    func declaration(_ schema: String) throws -> JSONValue? {
        let request = try chatRequest(
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":\#(schema)}}]}"#
        )
        return try JSONValue.parse(try self.gemini.encodeRequest(request, target: UpstreamTarget(model: "g")).body)["tools"]?[0]?[
            "functionDeclarations"
        ]?[0]
    }

    /// The generation config Gemini gets for a `json_schema` response format with `schema`.
    func responseConfig(_ schema: String) throws -> JSONValue? {
        let request = try chatRequest(
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":\#(schema)}}}"#
        )
        return try JSONValue.parse(try self.gemini.encodeRequest(request, target: UpstreamTarget(model: "g")).body)["generationConfig"]
    }

    func responseFailure(_ schema: String) throws -> TranslationError? {
        let request = try chatRequest(
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"r","schema":\#(schema)}}}"#
        )
        return #expect(throws: TranslationError.self) { try self.gemini.encodeRequest(request, target: UpstreamTarget(model: "g")) }
    }

    @Test func keywordsGeminiRejectsAreRemovedAndTypesUppercased() throws {
        let declaration = try self.declaration(
            #"{"$schema":"http://json-schema.org/draft-07/schema#","$id":"x","type":"object","additionalProperties":false,"strict":true,"#
                + #""title":"Args","properties":{"q":{"type":"string","default":"a","examples":["b"],"minLength":1,"maxLength":9,"#
                + #""pattern":"^[a-z]+$","format":"uri","x-internal":true,"readOnly":false},"n":{"type":"integer","format":"int64","#
                + #""minimum":1,"maximum":5,"exclusiveMaximum":6,"multipleOf":1},"r":{"type":"number","format":"decimal"},"#
                + #""when":{"type":"string","format":"date-time"},"tags":{"type":"array","items":{"type":"string","enum":["a","b"]},"#
                + #""minItems":1,"maxItems":3,"uniqueItems":true},"opts":{"type":"object","properties":{"on":{"type":"boolean"}},"#
                + #""additionalProperties":{},"minProperties":0,"maxProperties":1}},"required":["q"]}"#
        )
        #expect(
            declaration?["parameters"] == [
                "type": "OBJECT",
                "title": "Args",
                "properties": [
                    "q": ["type": "STRING", "minLength": 1, "maxLength": 9, "pattern": "^[a-z]+$"],
                    "n": ["type": "INTEGER", "format": "int64", "minimum": 1, "maximum": 5],
                    "r": ["type": "NUMBER"],
                    "when": ["type": "STRING", "format": "date-time"],
                    "tags": ["type": "ARRAY", "items": ["type": "STRING", "enum": ["a", "b"]], "minItems": 1, "maxItems": 3],
                    "opts": ["type": "OBJECT", "properties": ["on": ["type": "BOOLEAN"]], "minProperties": 0, "maxProperties": 1],
                ],
                "required": ["q"],
            ]
        )
        #expect(declaration?["parametersJsonSchema"] == nil)
    }

    @Test func nullableSpellingsBecomeNullable() throws {
        let declaration = try self.declaration(
            #"{"type":"object","properties":{"a":{"type":["string","null"]},"b":{"anyOf":[{"type":"integer"},{"type":"null"}],"#
                + #""default":null,"title":"B"},"c":{"enum":["x","y",null]},"d":{"oneOf":[{"type":"string"},{"type":"integer"}]},"#
                + #""e":{"const":"fixed"},"f":{"type":"string","nullable":true}}}"#
        )
        #expect(
            declaration?["parameters"]?["properties"] == [
                "a": ["type": "STRING", "nullable": true],
                "b": ["type": "INTEGER", "title": "B", "nullable": true],
                "c": ["type": "STRING", "enum": ["x", "y"], "nullable": true],
                "d": ["anyOf": [["type": "STRING"], ["type": "INTEGER"]]],
                "e": ["type": "STRING", "enum": ["fixed"]],
                "f": ["type": "STRING", "nullable": true],
            ]
        )
    }

    @Test func localReferencesAreInlinedWithSiblingsWinning() throws {
        let declaration = try self.declaration(
            ##"{"$defs":{"Point":{"type":"object","description":"A point","properties":{"x":{"type":"number"},"y":{"$ref":"#/$defs/Coord"}}},"##
                + #""Coord":{"type":"number","description":"coordinate"}},"definitions":{"Name":{"type":"string"}},"type":"object","#
                + ##""properties":{"from":{"$ref":"#/$defs/Point","description":"Start"},"to":{"allOf":[{"$ref":"#/$defs/Point"}]},"##
                + ##""label":{"$ref":"#/definitions/Name"}}}"##
        )
        let point: JSONValue = ["type": "OBJECT", "properties": ["x": ["type": "NUMBER"], "y": ["type": "NUMBER", "description": "coordinate"]]]
        var start = point
        start["description"] = "Start"
        var end = point
        end["description"] = "A point"
        #expect(declaration?["parameters"] == ["type": "OBJECT", "properties": ["from": start, "to": end, "label": ["type": "STRING"]]])
    }

    @Test func rootReferenceAndSingleAllOfArePydanticStyleParameters() throws {
        let reference = try self.declaration(##"{"$ref":"#/$defs/Args","$defs":{"Args":{"properties":{"a":{"type":"string"}},"required":["a"]}}}"##)
        #expect(reference?["parameters"] == ["type": "OBJECT", "properties": ["a": ["type": "STRING"]], "required": ["a"]])
        let allOf = try self.declaration(#"{"allOf":[{"type":"object"}],"description":"none"}"#)
        #expect(allOf == ["name": "f"])
    }

    @Test(arguments: [#"{"type":"object","properties":{}}"#, #"{"type":"object"}"#, #"{}"#])
    func parameterlessFunctionsSendNoParameters(schema: String) throws {
        let declaration = try self.declaration(schema)
        #expect(declaration == ["name": "f"])
    }

    /// Valid JSON Schema the subset cannot carry goes unchanged (minus `$schema`) as JSON Schema.
    @Test(arguments: [
        #"{"type":"object","properties":{"env":{"type":"object","additionalProperties":{"type":"string"}}}}"#,
        #"{"type":"object","additionalProperties":{"type":"integer"}}"#,
        ##"{"type":"object","properties":{"node":{"$ref":"#/$defs/Node"}},"$defs":{"Node":{"type":"object","properties":{"next":{"$ref":"#/$defs/Node"}}}}}"##,
        #"{"type":"object","properties":{"level":{"type":"integer","enum":[1,2,3]}}}"#,
        #"{"type":"object","properties":{"v":{"allOf":[{"type":"string"},{"minLength":2}]}}}"#,
        #"{"type":"object","properties":{"v":{"not":{"type":"string"}}}}"#,
        #"{"type":"object","properties":{"pair":{"type":"array","items":[{"type":"string"},{"type":"number"}]}}}"#,
        #"{"type":"object","properties":{"anything":{"description":"any JSON value"}}}"#,
        #"{"type":"object","properties":{"meta":{"type":"object"}}}"#,
        #"{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"x":{"if":{"type":"string"},"then":{"minLength":1}}}}"#,
    ])
    func inexpressibleSchemasAreSentAsJSONSchema(schema: String) throws {
        let declaration = try self.declaration(schema)
        var expected = try JSONValue.parse(schema)
        expected["$schema"] = nil
        #expect(declaration?["parametersJsonSchema"] == expected)
        #expect(declaration?["parameters"] == nil)
    }

    @Test func responseSchemasKeepPropertyOrderAndMayBeAnyType() throws {
        let object = try self.responseConfig(
            #"{"type":"object","properties":{"b":{"type":"string"},"a":{"type":"integer"}},"additionalProperties":false}"#
        )
        #expect(
            object?["responseSchema"] == [
                "type": "OBJECT", "properties": ["b": ["type": "STRING"], "a": ["type": "INTEGER"]], "propertyOrdering": ["b", "a"],
            ]
        )
        #expect(object?["responseSchema"]?["propertyOrdering"] == ["b", "a"])
        let array = try self.responseConfig(#"{"type":"array","items":{"type":"string","enum":["x"]}}"#)
        #expect(array?["responseSchema"] == ["type": "ARRAY", "items": ["type": "STRING", "enum": ["x"]]])
        let open = try self.responseConfig(#"{"type":"object"}"#)
        #expect(open == ["responseMimeType": "application/json", "responseJsonSchema": ["type": "object"]])
    }

    @Test(arguments: [
        (
            #"{"type":"object","properties":{"x":{"type":"text"}}}"#, "response_format.json_schema.schema.properties.x.type",
            TranslationError.Code.invalidRequest
        ),
        (#"{"type":"object","properties":{"x":{"type":7}}}"#, "response_format.json_schema.schema.properties.x.type", .invalidRequest),
        (#"{"type":"object","properties":{"x":"string"}}"#, "response_format.json_schema.schema.properties.x", .invalidRequest),
        (
            ##"{"type":"object","properties":{"x":{"$ref":"#/$defs/Missing"}}}"##, "response_format.json_schema.schema.properties.x.$ref",
            .invalidRequest
        ),
        (
            #"{"type":"object","properties":{"x":{"$ref":"https://example.com/schema.json"}}}"#,
            "response_format.json_schema.schema.properties.x.$ref",
            .unsupportedFeature
        ),
        (#"{"type":"object","required":"x","properties":{"x":{"type":"string"}}}"#, "response_format.json_schema.schema.required", .invalidRequest),
        (#"{"type":"array","items":{"type":"string"},"anyOf":[]}"#, "response_format.json_schema.schema.anyOf", .invalidRequest),
    ])
    func malformedSchemasAreRefusedNamingThePath(schema: String, param: String, code: TranslationError.Code) throws {
        let error = try self.responseFailure(schema)
        #expect(error?.param == param)
        #expect(error?.code == code)
    }

    @Test func functionParametersMustDescribeAnObject() throws {
        let request = try chatRequest(
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"string"}}}]}"#
        )
        let error = #expect(throws: TranslationError.self) { try self.gemini.encodeRequest(request, target: UpstreamTarget(model: "g")) }
        #expect(error?.param == "tools[0].function.parameters")
        #expect(error?.code == .invalidRequest)
    }

    /// A chain of `$ref`s, each to a definition 59 objects deep, expands to thousands of nested
    /// schemas although the request itself is within the JSON depth limit: converting it
    /// overflowed the stack (SIGSEGV). Past 64 nested schemas it is sent as written instead.
    @Test func deepReferenceChainsAreSentAsWrittenInsteadOfCrashing() throws {
        var definitions: [String] = []
        for index in 0..<80 {
            var schema = index == 79 ? #"{"type":"string"}"# : ##"{"$ref":"#/$defs/d\##(index + 1)"}"##
            for _ in 0..<59 { schema = #"{"type":"object","properties":{"a":\#(schema)}}"# }
            definitions.append(#""d\#(index)":\#(schema)"#)
        }
        let root = ##"{"type":"object","properties":{"x":{"$ref":"#/$defs/d0"}},"$defs":{\##(definitions.joined(separator: ","))}}"##
        let declaration = try self.declaration(root)
        #expect(declaration?["parameters"] == nil)
        #expect(declaration?["parametersJsonSchema"] == (try JSONValue.parse(root)))
    }
}
