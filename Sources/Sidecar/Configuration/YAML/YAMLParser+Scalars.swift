//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension YAMLParser {
    /// A value written after `key:` or `- ` on `line`: a block scalar, a flow collection, a
    /// quoted or a plain scalar.
    mutating func parseValue(_ text: Substring, line: Line, parentIndent: Int) throws(YAMLError) -> YAMLNode {
        switch text.first {
        case "|", ">":
            return try self.parseBlockScalar(header: text, line: line, parentIndent: parentIndent)
        case "{", "[":
            return try self.parseFlow(text, line: line)
        case "&", "*", "!":
            throw YAMLError(line: line.number, message: "anchors, aliases and tags are not supported")
        default:
            return try Self.scalar(text, line: line.number)
        }
    }

    /// A single-line scalar: quoted (`"a\tb"`, `'it''s'`) or plain (taken as written).
    static func scalar(_ text: Substring, line: Int) throws(YAMLError) -> YAMLNode {
        guard let quote = text.first, quote == "\"" || quote == "'" else {
            if text.first == "&" || text.first == "*" || text.first == "!" {
                throw YAMLError(line: line, message: "anchors, aliases and tags are not supported")
            }
            return YAMLNode(kind: .scalar(String(text), quoted: false), line: line)
        }
        guard let (value, end) = try Self.quoted(text, line: line), text[end...].allSatisfy(Self.isBlank) else {
            throw YAMLError(line: line, message: "unterminated or malformed quoted string (multi-line quoted strings are not supported)")
        }
        return YAMLNode(kind: .scalar(value, quoted: true), line: line)
    }

    /// Reads a quoted string at the start of `text`; returns its value and the index after the
    /// closing quote, or `nil` when it does not close on this line.
    static func quoted(_ text: Substring, line: Int) throws(YAMLError) -> (String, Substring.Index)? {
        let quote = text[text.startIndex]
        var value = ""
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let character = text[index]
            index = text.index(after: index)
            if character == quote {
                guard quote == "'", index < text.endIndex, text[index] == "'" else { return (value, index) }
                value.append("'")  // '' is an escaped single quote
                index = text.index(after: index)
            } else if character == "\\", quote == "\"" {
                guard index < text.endIndex else { return nil }
                let (unescaped, next) = try Self.escape(in: text, at: index, line: line)
                value.append(unescaped)
                index = next
            } else {
                value.append(character)
            }
        }
        return nil
    }

    private static func escape(in text: Substring, at index: Substring.Index, line: Int) throws(YAMLError) -> (Character, Substring.Index) {
        let next = text.index(after: index)
        switch text[index] {
        case "n": return ("\n", next)
        case "t": return ("\t", next)
        case "r": return ("\r", next)
        case "0": return ("\0", next)
        case "\"", "\\", "/", " ": return (text[index], next)
        case "x", "u", "U":
            let length = ["x": 2, "u": 4, "U": 8][text[index]]!
            let end = text.index(next, offsetBy: length, limitedBy: text.endIndex) ?? text.endIndex
            guard let code = UInt32(text[next..<end], radix: 16), let scalar = Unicode.Scalar(code), text.distance(from: next, to: end) == length
            else {
                throw YAMLError(line: line, message: "invalid \\\(text[index]) escape")
            }
            return (Character(scalar), end)
        default:
            throw YAMLError(line: line, message: "invalid escape '\\\(text[index])'")
        }
    }

    /// `|` keeps line breaks, `>` folds lines into spaces; `-` strips the final line break, `+`
    /// keeps trailing blank lines, neither keeps one line break.
    private mutating func parseBlockScalar(header: Substring, line: Line, parentIndent: Int) throws(YAMLError) -> YAMLNode {
        let folded = header.first == ">"
        let chomping = header.dropFirst()
        guard chomping.isEmpty || chomping == "-" || chomping == "+" else {
            throw YAMLError(line: line.number, message: "unsupported block scalar header '\(header)'")
        }
        var body: [Substring] = []
        var contentIndent: Int?
        while self.index < self.lines.count {
            let next = self.lines[self.index]
            let blank = next.raw.allSatisfy { $0 == " " }
            if !blank {
                guard next.indent > parentIndent else { break }
                contentIndent = contentIndent ?? next.indent
            }
            body.append(blank ? "" : next.raw.dropFirst(min(next.indent, contentIndent ?? next.indent)))
            self.index += 1
        }
        var trailingBlanks = 0
        while body.last?.isEmpty == true {
            body.removeLast()
            trailingBlanks += 1
        }
        var text = folded ? Self.fold(body) : body.joined(separator: "\n")
        switch chomping {
        case "-": break
        case "+": text += String(repeating: "\n", count: trailingBlanks + (body.isEmpty ? 0 : 1))
        default: if !body.isEmpty { text += "\n" }
        }
        return YAMLNode(kind: .scalar(text, quoted: true), line: line.number)
    }

    private static func fold(_ lines: [Substring]) -> String {
        var text = ""
        for (index, line) in lines.enumerated() {
            if index > 0 { text += line.isEmpty || lines[index - 1].isEmpty ? "\n" : " " }
            text += line
        }
        return text
    }

    /// Splits `key: value` (or `key:`) into the key's text and the value's text.
    static func splitKey(_ content: Substring) -> (Substring, Substring)? {
        if content.first == "\"" || content.first == "'" {
            guard let (_, end) = try? Self.quoted(content, line: 0) else { return nil }
            let rest = content[end...].drop(while: Self.isBlank)
            guard rest.first == ":", rest.count == 1 || rest.dropFirst().first.map(Self.isBlank) == true else { return nil }
            return (content[..<end], rest.dropFirst().drop(while: Self.isBlank))
        }
        guard content.first != "{", content.first != "[" else { return nil }
        var index = content.startIndex
        while let colon = content[index...].firstIndex(of: ":") {
            let after = content.index(after: colon)
            if after == content.endIndex || Self.isBlank(content[after]) {
                var key = content[..<colon]
                while key.last.map(Self.isBlank) == true { key.removeLast() }
                return (key, content[after...].drop(while: Self.isBlank))
            }
            index = after
        }
        return nil
    }

    /// The line without its comment (a `#` at the start or after a space or tab, outside quotes)
    /// and without trailing blanks.
    static func stripComment(_ line: Substring) -> Substring {
        var quote: Character?
        var previous: Character = " "
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if let open = quote {
                if character == "\\", open == "\"" {
                    index = line.index(after: index)
                } else if character == open {
                    quote = nil
                }
            } else if character == "#", Self.isBlank(previous) {
                return Self.trimTrailingBlanks(line[..<index])
            } else if character == "\"" || character == "'", " \t:-[{,".contains(previous) {
                quote = character
            }
            previous = character
            if index < line.endIndex { index = line.index(after: index) }
        }
        return Self.trimTrailingBlanks(line)
    }

    private static func trimTrailingBlanks(_ text: Substring) -> Substring {
        var text = text
        while let last = text.last, Self.isBlank(last) { text.removeLast() }
        return text
    }
}
