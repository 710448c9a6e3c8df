//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension YAMLParser {
    /// A flow collection (`{ input: 0.28, output: 0.42 }`, `[a, "b c"]`), which may continue on
    /// the following lines until its brackets close. It counts towards ``maximumDepth`` from the
    /// depth of the block it is in.
    mutating func parseFlow(_ text: Substring, line: Line) throws(YAMLError) -> YAMLNode {
        var source = String(text)
        var brackets = FlowBrackets()
        brackets.scan(text)
        while !brackets.closed {
            guard self.index < self.lines.count else {
                throw YAMLError(line: line.number, message: "unclosed '\(text.first!)'")
            }
            let next = self.lines[self.index].content
            source += " " + next
            brackets.scan(" " + next)
            self.index += 1
        }
        var reader = FlowReader(text: Substring(source), line: line.number, depth: self.depth, path: self.path)
        let node: YAMLNode
        do throws(YAMLError) {
            node = try reader.value()
        } catch {
            var error = error
            if error.field.isEmpty { error.field = Self.field(reader.path) }
            throw error
        }
        reader.skipBlanks()
        guard reader.text.isEmpty else { throw YAMLError(line: line.number, message: "unexpected '\(reader.text)' after a flow collection") }
        return node
    }
}

/// Whether the brackets of a flow collection have closed, read a line at a time (each line is
/// scanned once, however many lines the collection spans).
private struct FlowBrackets {
    private var depth = 0
    private var quote: Character?
    private var escaped = false

    var closed: Bool { self.depth <= 0 }

    mutating func scan(_ text: some StringProtocol) {
        for character in text {
            if let open = self.quote {
                if self.escaped {
                    self.escaped = false
                } else if character == "\\", open == "\"" {
                    self.escaped = true
                } else if character == open {
                    self.quote = nil
                }
                continue
            }
            switch character {
            case "\"", "'": self.quote = character
            case "{", "[": self.depth += 1
            case "}", "]": self.depth -= 1
            default: break
            }
        }
    }
}

/// Reads one flow value from the front of `text`.
private struct FlowReader {
    var text: Substring
    let line: Int
    /// Collections open around the reader (block ones included), at most ``YAMLParser/maximumDepth``.
    var depth: Int
    /// Where the reader is, for error messages; not unwound on errors.
    var path: [String]

    mutating func value() throws(YAMLError) -> YAMLNode {
        self.skipBlanks()
        switch self.text.first {
        case "{": return try self.mapping()
        case "[": return try self.sequence()
        default: return try self.scalar(stoppingAtColon: false)
        }
    }

    private mutating func enter() throws(YAMLError) {
        guard self.depth < YAMLParser.maximumDepth else {
            throw self.error("collections nested deeper than \(YAMLParser.maximumDepth) levels")
        }
        self.depth += 1
        self.text.removeFirst()
    }

    private mutating func mapping() throws(YAMLError) -> YAMLNode {
        try self.enter()
        var pairs: [YAMLNode.Pair] = []
        var seen: Set<String> = []
        while true {
            self.skipBlanks()
            if self.text.first == "}" {
                self.text.removeFirst()
                self.depth -= 1
                return YAMLNode(kind: .mapping(pairs), line: self.line)
            }
            let key = try self.scalar(stoppingAtColon: true)
            guard seen.insert(key.string ?? "").inserted else { throw self.error("duplicate key '\(key.string ?? "")'") }
            self.skipBlanks()
            guard self.text.first == ":" else { throw self.error("expected ':' after '\(key.string ?? "")'") }
            self.text.removeFirst()
            self.skipBlanks()
            self.path.append(key.string ?? "")
            let value =
                self.text.first == "," || self.text.first == "}" ? YAMLNode(kind: .scalar("", quoted: false), line: self.line) : try self.value()
            self.path.removeLast()
            pairs.append(YAMLNode.Pair(key: key, value: value))
            try self.separator(closing: "}")
        }
    }

    private mutating func sequence() throws(YAMLError) -> YAMLNode {
        try self.enter()
        var items: [YAMLNode] = []
        while true {
            self.skipBlanks()
            if self.text.first == "]" {
                self.text.removeFirst()
                self.depth -= 1
                return YAMLNode(kind: .sequence(items), line: self.line)
            }
            self.path.append("[\(items.count)]")
            items.append(try self.value())
            self.path.removeLast()
            try self.separator(closing: "]")
        }
    }

    private mutating func separator(closing: Character) throws(YAMLError) {
        self.skipBlanks()
        if self.text.first == "," {
            self.text.removeFirst()
        } else if self.text.first != closing {
            throw self.error("expected ',' or '\(closing)'")
        }
    }

    private mutating func scalar(stoppingAtColon: Bool) throws(YAMLError) -> YAMLNode {
        if self.text.first == "\"" || self.text.first == "'" {
            guard let (value, end) = try YAMLParser.quoted(self.text, line: self.line) else { throw self.error("unterminated quoted string") }
            self.text = self.text[end...]
            return YAMLNode(kind: .scalar(value, quoted: true), line: self.line)
        }
        var end = self.text.startIndex
        while end < self.text.endIndex {
            let character = self.text[end]
            if character == "," || character == "]" || character == "}" { break }
            let next = self.text.index(after: end)
            if stoppingAtColon, character == ":", next == self.text.endIndex || YAMLParser.isBlank(self.text[next]) { break }
            end = next
        }
        var token = self.text[..<end]
        self.text = self.text[end...]
        while token.last.map(YAMLParser.isBlank) == true { token.removeLast() }
        return try YAMLParser.scalar(token, line: self.line)
    }

    mutating func skipBlanks() {
        self.text = self.text.drop(while: YAMLParser.isBlank)
    }

    private func error(_ message: String) -> YAMLError {
        YAMLError(line: self.line, message: message)
    }
}
