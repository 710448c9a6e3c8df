//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

/// Hostile and unlucky configuration files: deep nesting (which used to overflow the stack),
/// CRLF line ends, tabs before comments.
@Suite struct YAMLParserBoundsTests {
    static let limit = YAMLParser.maximumDepth

    /// `providers:` then `levels` flow sequences inside each other: the document nests
    /// `levels + 1` collections (the root mapping counts).
    static func flow(levels: Int) -> String {
        "listen: 127.0.0.1:8080\nproviders: " + String(repeating: "[", count: levels) + String(repeating: "]", count: levels) + "\n"
    }

    /// `levels` block mappings inside each other, the root included.
    static func blockMappings(levels: Int) -> String {
        (0..<levels).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n") + " end\n"
    }

    /// A root mapping holding `levels - 1` block sequences (`- - - …`), one per line.
    static func blockSequences(levels: Int) -> String {
        "a:\n" + (0..<(levels - 1)).map { String(repeating: " ", count: 2 + 2 * $0) + "-" }.joined(separator: "\n") + " x\n"
    }

    @Test func nestingUpToTheLimitParses() throws {
        #expect(try YAMLParser.parse(Self.flow(levels: Self.limit - 1)) != nil)
        #expect(try YAMLParser.parse(Self.blockMappings(levels: Self.limit)) != nil)
        #expect(try YAMLParser.parse(Self.blockSequences(levels: Self.limit)) != nil)
    }

    @Test(arguments: [64, 10_000, 100_000])
    func deepFlowNestingIsAnErrorNamingLineAndField(levels: Int) {
        let error = #expect(throws: YAMLError.self) { try YAMLParser.parse(Self.flow(levels: levels)) }
        #expect(error?.line == 2)
        #expect(error?.message == "collections nested deeper than 64 levels")
        #expect(error?.field.hasPrefix("providers[0][0]") == true, "\(error?.field ?? "")")
        #expect(error?.field.hasSuffix("…") == true)
    }

    @Test(arguments: [65, 5_000])
    func deepBlockMappingsAreAnError(levels: Int) {
        let error = #expect(throws: YAMLError.self) { try YAMLParser.parse(Self.blockMappings(levels: levels)) }
        #expect(error?.line == 65)
        #expect(error?.message == "collections nested deeper than 64 levels")
        #expect(error?.field.hasPrefix("k0.k1.k2") == true, "\(error?.field ?? "")")
    }

    @Test(arguments: [65, 5_000])
    func deepBlockSequencesAreAnError(levels: Int) {
        let error = #expect(throws: YAMLError.self) { try YAMLParser.parse(Self.blockSequences(levels: levels)) }
        #expect(error?.message == "collections nested deeper than 64 levels")
        #expect(error?.field.hasPrefix("a[0][0]") == true, "\(error?.field ?? "")")
    }

    @Test func flowInsideDeepBlocksCountsFromTheBlockDepth() {
        let blocks = Self.blockMappings(levels: 60).replacingOccurrences(of: " end\n", with: " [[[[[]]]]]\n")
        let error = #expect(throws: YAMLError.self) { try YAMLParser.parse(blocks) }
        #expect(error?.message == "collections nested deeper than 64 levels")
    }

    @Test func aConfigurationNestedTooDeepIsAProblemWithFileLineAndField() {
        let error = #expect(throws: ConfigurationError.self) {
            try SidecarConfiguration.parse(yaml: Self.flow(levels: 10_000), file: "deep.yaml", environment: [:])
        }
        let problem = error?.problems.first
        #expect(error?.problems.count == 1)
        #expect(problem?.file == "deep.yaml")
        #expect(problem?.line == 2)
        #expect(problem?.field.hasPrefix("providers[0]") == true)
        #expect(problem?.message == "not valid YAML: collections nested deeper than 64 levels")
    }

    /// `llm-sidecar check-config` on such a file exits with status 1 (it crashed with SIGSEGV).
    @Test(arguments: [Self.flow(levels: 100_000), Self.blockMappings(levels: 10_000)])
    func checkConfigReportsDeepFilesInsteadOfCrashing(text: String) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("deep-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var command = try CheckConfigCommand.parseAsRoot([path])
        let exit = #expect(throws: ExitCode.self) { try command.run() }
        #expect(exit == .failure)
    }

    /// A document up to 4 MiB is read; reading a larger one stops at 4 MiB with an error on the
    /// line where it stopped (a problem before that, such as deep nesting, is reported first).
    @Test func documentsOverFourMiBAreRefused() throws {
        let kibibyteComment = "#" + String(repeating: "x", count: 1022) + "\n"
        let atTheLimit = String(repeating: kibibyteComment, count: 4095) + "a: 1\n"
        #expect(atTheLimit.utf8.count <= YAMLParser.maximumSize)
        #expect(try YAMLParserTests.parse(atTheLimit) == ["a": "1"])
        let error = #expect(throws: YAMLError.self) { try YAMLParser.parse(atTheLimit + kibibyteComment) }
        #expect(error?.line == 4097)
        #expect(error?.message.contains("at most 4 MiB") == true, "\(error?.message ?? "")")
    }

    /// A file saved with Windows line ends reads exactly like the LF original (it failed with
    /// "listen: must be HOST:PORT").
    @Test func crlfLineEndsParseLikeLF() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../sidecar.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        let crlf = text.replacingOccurrences(of: "\n", with: "\r\n")
        #expect(crlf.contains("\r\n"))
        #expect(try YAMLParser.parse(crlf) == YAMLParser.parse(text))
        let configuration = try SidecarConfiguration.parse(yaml: crlf, file: "crlf.yaml", environment: [:])
        #expect(configuration.listen.description == "127.0.0.1:8080")
        let original = try SidecarConfiguration.parse(yaml: text, file: "lf.yaml", environment: [:])
        #expect(configuration.models.allEntries.map(\.name) == original.models.allEntries.map(\.name))
    }

    /// A tab before `#` starts a comment, as a space does; a tab also separates `key:` from its
    /// value. A tab right after `- ` is refused by libyaml (YAML 1.1) with an error naming the line.
    @Test func tabsSeparateCommentsKeysAndItems() throws {
        let text = "listen: 127.0.0.1:8080\t# where\nlist:\n  - one\t#first\n  - \"two\"\t# second\nkey:\tvalue\n"
        #expect(
            try YAMLParserTests.parse(text) == ["listen": "127.0.0.1:8080", "list": ["one", "'two"], "key": "value"]
        )
        let error = #expect(throws: YAMLError.self) { try YAMLParser.parse("list:\n  -\tone\n") }
        #expect(error?.line == 2)
        #expect(error?.message.contains("tabs are not allowed") == true)
        #expect(try YAMLParserTests.parse("a: \"x # not a comment\"\t# comment") == ["a": "'x # not a comment"])
        #expect(try YAMLParserTests.parse("a: x#y") == ["a": "x#y"])
    }
}
