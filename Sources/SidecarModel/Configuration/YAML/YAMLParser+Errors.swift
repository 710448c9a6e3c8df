//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CYAML

extension YAMLParser {
    /// libyaml's problem as a ``YAMLError`` on its 1-based line (libyaml counts from 0), under the
    /// field of `path` (the entry being read). The mistakes people make in configuration files
    /// are said in their words — a tab, an unclosed bracket or quote (on the line where it opens),
    /// a `key: value` at the wrong indentation — and everything else is libyaml's problem with its
    /// context, e.g. "did not find expected key while parsing a block mapping that starts on line 3".
    static func error(_ parser: yaml_parser_t, in input: Input, path: [String]) -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "out of memory"
        guard parser.error != YAML_READER_ERROR else {
            // The reader (invalid UTF-8, control characters) knows only the byte offset.
            return YAMLError(line: input.line(atByte: parser.problem_offset), message: problem, field: Self.field(path))
        }
        let line = Int(parser.problem_mark.line) + 1
        let context = parser.context.map { String(cString: $0) }
        let contextLine = Int(parser.context_mark.line) + 1
        switch (problem, context) {
        case _ where problem.contains("tab character") || Self.isTab(at: Int(parser.problem_mark.index), in: input.bytes):
            // The scanner has read ahead of the entries: the line is all that is known.
            return YAMLError(line: line, message: "tabs are not allowed for indentation; use spaces")
        case ("did not find expected ',' or ']'", "while parsing a flow sequence"):
            return YAMLError(line: contextLine, message: "unclosed '['", field: Self.field(Array(path.dropLast())))
        case ("did not find expected ',' or '}'", "while parsing a flow mapping"):
            return YAMLError(line: contextLine, message: "unclosed '{'", field: Self.field(Array(path.dropLast())))
        case ("found unexpected end of stream", "while scanning a quoted scalar"):
            return YAMLError(line: contextLine, message: "unterminated quoted string", field: Self.field(path))
        case ("mapping values are not allowed in this context", _):
            let message = "unexpected ':' (mapping values are not allowed in this context); check the indentation"
            return YAMLError(line: line, message: message, field: Self.field(path))
        case (_, let context?):
            return YAMLError(line: line, message: "\(problem) \(context) that starts on line \(contextLine)", field: Self.field(path))
        case (_, nil):
            return YAMLError(line: line, message: problem, field: Self.field(path))
        }
    }

    /// Whether the character at `index` (libyaml counts characters, not bytes) is a tab.
    private static func isTab(at index: Int, in utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        String(decoding: utf8, as: UTF8.self).unicodeScalars.dropFirst(index).first == "\t"
    }
}
