//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

@Suite struct YAMLParserTests {
    /// The document as JSON-like values: mappings → objects, sequences → arrays, scalars →
    /// strings (quoted scalars prefixed with `'` to show they were quoted), null → null.
    static func tree(_ node: YAMLNode?) -> JSONValue {
        guard let node else { return .null }
        switch node.kind {
        case .scalar(let text, let quoted):
            return node.isNull ? .null : .string(quoted ? "'" + text : text)
        case .sequence(let items):
            return .array(items.map { Self.tree($0) })
        case .mapping(let pairs):
            return .object(JSONObject(pairs.map { ($0.key.string ?? "", Self.tree($0.value)) }))
        }
    }

    static func parse(_ text: String) throws -> JSONValue {
        Self.tree(try YAMLParser.parse(text))
    }

    @Test func blockMappingsAndSequences() throws {
        let text = """
            # a comment
            listen: 127.0.0.1:8080   # trailing comment
            providers:
              deepseek:
                base_url: https://api.deepseek.com/v1#fragment
                headers:
                  X-A: "b # not a comment"
            list:
            - one
            -   two
            - key: value
              other: 2
            - - nested
              - items
            nested:
              - a
              - b
            empty:
            tilde: ~
            """
        #expect(
            try Self.parse(text) == [
                "listen": "127.0.0.1:8080",
                "providers": ["deepseek": ["base_url": "https://api.deepseek.com/v1#fragment", "headers": ["X-A": "'b # not a comment"]]],
                "list": ["one", "two", ["key": "value", "other": "2"], ["nested", "items"]],
                "nested": ["a", "b"],
                "empty": nil,
                "tilde": nil,
            ]
        )
    }

    @Test func flowCollectionsAcrossLines() throws {
        let text = """
            price: { input: 0.28, cached_input: 0.028, output: 0.42, currency: USD }
            tags: [中文理解, "a, b", 'it''s']
            multi: {
              a: [1, 2],
              b: { c: d }
            }
            emptyMap: {}
            emptyList: []
            """
        #expect(
            try Self.parse(text) == [
                "price": ["input": "0.28", "cached_input": "0.028", "output": "0.42", "currency": "USD"],
                "tags": ["中文理解", "'a, b", "'it's"],
                "multi": ["a": ["1", "2"], "b": ["c": "d"]],
                "emptyMap": [:],
                "emptyList": [],
            ]
        )
    }

    @Test func quotedKeysAndEscapes() throws {
        let text = #"""
            "*": { provider: openai }
            "gpt-*": x
            'single': "tab\there \u00e9 \"q\""
            """#
        #expect(try Self.parse(text) == ["*": ["provider": "openai"], "gpt-*": "x", "single": "'tab\there é \"q\""])
    }

    @Test func blockScalars() throws {
        let text = """
            literal: |
              line one
              line two

            folded: >-
              folded
              text
            kept: |+
              a

            end: x
            """
        #expect(try Self.parse(text) == ["literal": "'line one\nline two\n", "folded": "'folded text", "kept": "'a\n\n", "end": "x"])
    }

    @Test func scalarTypes() throws {
        let root = try #require(try YAMLParser.parse("a: 42\nb: true\nc: '42'\nd: 0x1f\ne: False\nf: 1.5"))
        guard case .mapping(let pairs) = root.kind else {
            Issue.record("expected a mapping")
            return
        }
        #expect(pairs[0].value.int == 42)
        #expect(pairs[1].value.bool == true)
        #expect(pairs[2].value.int == nil, "a quoted scalar is a string")
        #expect(pairs[2].value.string == "42")
        #expect(pairs[3].value.int == 31)
        #expect(pairs[4].value.bool == false)
        #expect(pairs[5].value.int == nil)
        #expect(pairs.map(\.value.line) == [1, 2, 3, 4, 5, 6])
    }

    @Test func documentMarkersAndEmptyDocuments() throws {
        #expect(try YAMLParser.parse("") == nil)
        #expect(try YAMLParser.parse("# only a comment\n\n") == nil)
        #expect(try YAMLParser.parse("---\n") == nil)
        #expect(try YAMLParser.parse("--- # nothing\n...\n") == nil)
        #expect(try Self.parse("---\na: 1\n...\nignored: true") == ["a": "1"])
    }

    @Test(arguments: [
        ("a: 1\na: 2", 2, "duplicate key 'a'"),
        ("a:\n\tb: 1", 2, "tabs are not allowed"),
        ("a: &anchor 1", 1, "anchors, aliases and tags are not supported"),
        ("a: *alias", 1, "anchors, aliases and tags are not supported"),
        ("a: !!str 1", 1, "anchors, aliases and tags are not supported"),
        ("a: [1, 2", 1, "unclosed '['"),
        ("a: {b: 1]", 1, "unclosed '{'"),
        ("a: [1,\n  2,\n  3\nb: 4", 1, "unclosed '['"),
        ("a: \"open", 1, "unterminated quoted string"),
        ("a: 1\nb: 'open\n\nc: 2", 2, "unterminated quoted string"),
        ("---\na: 1\n---\nb: 2", 3, "only one YAML document is allowed"),
        ("a: 1\n    b: 2", 2, "unexpected"),
        ("%YAML 1.2\n---\na: 1", 1, "directives are not supported"),
        ("a: \"bad \\q\"", 1, "unknown escape character"),
        ("a: &x [1]\nb: *x", 1, "anchors, aliases and tags are not supported"),
        ("a:\n  ? [k]\n  : v", 2, "a key must be a scalar"),
        ("a: 1\nb: \u{1}", 2, "control characters are not allowed"),
    ])
    func malformedDocumentsNameTheLine(text: String, line: Int, message: String) {
        let error = #expect(throws: YAMLError.self) { try YAMLParser.parse(text) }
        #expect(error?.line == line)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
    }

    @Test func theShippedConfigurationParsesCompletely() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../sidecar.yaml")
        let tree = try Self.parse(try String(contentsOf: url, encoding: .utf8))
        #expect(tree["providers"]?["deepseek"]?["base_url"] == "https://api.deepseek.com")
        #expect(tree["models"]?["deepseek-chat"]?["strengths"] == ["中文理解", "代码生成", "推理能力"])
        #expect(tree["models"]?["qwen-turbo"]?["price"]?["reasoning"] == "3.0")
        #expect(tree["listen"] == "${SIDECAR_LISTEN:-127.0.0.1:8080}")
    }
}
