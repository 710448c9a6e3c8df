//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import TestSupport
import Testing
import Translate

@Suite struct JSONValueTests {
    @Test func roundTripKeepsKeyOrderAndNumberLiterals() throws {
        let text = #"{"model":"gpt-4o","temperature":0.70,"n":1,"big":12345678901234567890,"e":1E-7,"nested":{"z":[],"a":{}}}"#
        let value = try JSONValue.parse(text)
        #expect(value.jsonString == text)
    }

    @Test func settingAMemberKeepsItsPosition() throws {
        var value = try JSONValue.parse(#"{"a":1,"model":"x","z":2}"#)
        value["model"] = "deepseek-chat"
        value["added"] = true
        #expect(value.jsonString == #"{"a":1,"model":"deepseek-chat","z":2,"added":true}"#)
    }

    @Test func escapesDecodeAndEncode() throws {
        let value = try JSONValue.parse(#"["a\"b\\c\/d\n\t\u00e9\ud83d\ude00\u0001"]"#)
        #expect(value[0]?.stringValue == "a\"b\\c/d\n\té😀\u{01}")
        #expect(value.jsonString == #"["a\"b\\c/d\n\té😀\u0001"]"#)
    }

    @Test func chineseTextPassesThroughUnescaped() throws {
        let value = try JSONValue.parse(#"{"content":"中文理解"}"#)
        #expect(value["content"]?.stringValue == "中文理解")
        #expect(value.jsonString == #"{"content":"中文理解"}"#)
    }

    @Test func equalityIgnoresKeyOrderAndNumberSpelling() throws {
        #expect(try JSONValue.parse(#"{"a":1,"b":[1.0,2]}"#) == JSONValue.parse(#"{"b":[1,2e0],"a":1.0}"#))
        #expect(try JSONValue.parse(#"{"a":1}"#) != JSONValue.parse(#"{"a":2}"#))
        #expect(try JSONValue.parse(#"{"a":1}"#) != JSONValue.parse(#"{"a":1,"b":null}"#))
    }

    @Test func duplicateKeysKeepTheLastValue() throws {
        let value = try JSONValue.parse(#"{"a":1,"a":2}"#)
        #expect(value.objectValue?.count == 1)
        #expect(value["a"]?.intValue == 2)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "tru", "\"\u{01}\"", "\"\\x\"", "\"\\ud800\"", "{} {}", "[1 2]", "nul",
    ])
    func invalidDocumentsAreRejected(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func nestingBeyondTheLimitIsRejectedWithoutCrashing() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let error = try #require(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        #expect(error.reason.contains("nesting deeper than 128"))
        let allowed = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(try JSONValue.parse(allowed).arrayValue != nil)
    }

    @Test func numbersConvert() throws {
        let value = try JSONValue.parse(#"[3, 3.0, 2.5, -7, 1e3]"#)
        #expect(value[0]?.intValue == 3)
        #expect(value[1]?.intValue == 3)
        #expect(value[2]?.intValue == nil)
        #expect(value[2]?.doubleValue == 2.5)
        #expect(value[3]?.intValue == -7)
        #expect(value[4]?.intValue == 1000)
        #expect(JSONNumber(0.5).literal == "0.5")
        #expect(JSONNumber(42.0).literal == "42")
        #expect(JSONNumber(literal: "1.25e2")?.doubleValue == 125)
        #expect(JSONNumber(literal: "abc") == nil)
    }
}
