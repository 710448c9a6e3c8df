//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension YAMLParser {
    /// A flow collection (`{ input: 0.28, output: 0.42 }`, `[a, "b c"]`), which may continue on
    /// the following lines until its brackets close.
    mutating func parseFlow(_ text: Substring, line: Line) throws(YAMLError) -> YAMLNode {
        var source = String(text)
        while !Self.flowIsClosed(source) {
            guard self.index < self.lines.count else {
                throw YAMLError(line: line.number, message: "unclosed '\(text.first!)'")
            }
            source += " " + self.lines[self.index].content
            self.index += 1
        }
        var reader = FlowReader(text: Substring(source), line: line.number)
        let node = try reader.value()
        reader.skipBlanks()
        guard reader.text.isEmpty else { throw YAMLError(line: line.number, message: "unexpected '\(reader.text)' after a flow collection") }
        return node
    }

    private static func flowIsClosed(_ text: String) -> Bool {
        var depth = 0
        var quote: Character?
        var escaped = false
        for character in text {
            if let open = quote {
                if escaped {
                    escaped = false
                } else if character == "\\", open == "\"" {
                    escaped = true
                } else if character == open {
                    quote = nil
                }
                continue
            }
            switch character {
            case "\"", "'": quote = character
            case "{", "[": depth += 1
            case "}", "]": depth -= 1
            default: break
            }
        }
        return depth <= 0
    }
}

/// Reads one flow value from the front of `text`.
private struct FlowReader {
    var text: Substring
    let line: Int

    mutating func value() throws(YAMLError) -> YAMLNode {
        self.skipBlanks()
        switch self.text.first {
        case "{": return try self.mapping()
        case "[": return try self.sequence()
        default: return try self.scalar(stoppingAtColon: false)
        }
    }

    private mutating func mapping() throws(YAMLError) -> YAMLNode {
        self.text.removeFirst()
        var pairs: [YAMLNode.Pair] = []
        var seen: Set<String> = []
        while true {
            self.skipBlanks()
            if self.text.first == "}" {
                self.text.removeFirst()
                return YAMLNode(kind: .mapping(pairs), line: self.line)
            }
            let key = try self.scalar(stoppingAtColon: true)
            guard seen.insert(key.string ?? "").inserted else { throw self.error("duplicate key '\(key.string ?? "")'") }
            self.skipBlanks()
            guard self.text.first == ":" else { throw self.error("expected ':' after '\(key.string ?? "")'") }
            self.text.removeFirst()
            self.skipBlanks()
            let value =
                self.text.first == "," || self.text.first == "}" ? YAMLNode(kind: .scalar("", quoted: false), line: self.line) : try self.value()
            pairs.append(YAMLNode.Pair(key: key, value: value))
            try self.separator(closing: "}")
        }
    }

    private mutating func sequence() throws(YAMLError) -> YAMLNode {
        self.text.removeFirst()
        var items: [YAMLNode] = []
        while true {
            self.skipBlanks()
            if self.text.first == "]" {
                self.text.removeFirst()
                return YAMLNode(kind: .sequence(items), line: self.line)
            }
            items.append(try self.value())
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
            if stoppingAtColon, character == ":", next == self.text.endIndex || self.text[next] == " " { break }
            end = next
        }
        var token = self.text[..<end]
        self.text = self.text[end...]
        while token.last == " " { token.removeLast() }
        return try YAMLParser.scalar(token, line: self.line)
    }

    mutating func skipBlanks() {
        self.text = self.text.drop { $0 == " " || $0 == "\t" }
    }

    private func error(_ message: String) -> YAMLError {
        YAMLError(line: self.line, message: message)
    }
}
