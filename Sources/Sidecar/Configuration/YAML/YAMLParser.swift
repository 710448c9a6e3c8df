//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Parses the YAML that configuration files are written in: block mappings and sequences,
/// flow collections (`{ a: 1 }`, `[x, y]`), plain, single- and double-quoted scalars, literal
/// (`|`) and folded (`>`) block scalars, comments, and one document.
///
/// Anchors, aliases, tags, directives and multi-document streams are refused with an error
/// naming the line instead of being misread. (A small parser of our own keeps the sidecar free of
/// Foundation, which a general YAML library would load at a cost of about 7 MB of memory.)
///
/// Lines end in LF or CRLF; a `#` after a space or a tab starts a comment. Collections nest at
/// most ``maximumDepth`` (64) levels, block and flow together — a configuration needs about 6 — so
/// a hostile or broken file is an error naming its line and field, never a stack overflow.
struct YAMLParser {
    /// One physical line: its number, indentation, and content without comment or trailing blanks.
    struct Line {
        var number: Int
        var indent: Int
        var content: Substring
        var raw: Substring
    }

    /// The deepest nesting of mappings and sequences (block and flow together) accepted.
    static let maximumDepth = 64

    var lines: [Line] = []
    var index = 0
    /// Collections open around the current line.
    var depth = 0
    /// Keys and `[index]`es leading to the current line, for error messages.
    var path: [String] = []

    /// The document's root node, or `nil` for an empty document.
    static func parse(_ text: String) throws(YAMLError) -> YAMLNode? {
        var parser = YAMLParser()
        do throws(YAMLError) {
            try parser.split(text)
            guard let first = parser.nextContentLine() else { return nil }
            let root = try parser.parseNode(indent: first.indent)
            if let extra = parser.nextContentLine() {
                throw YAMLError(line: extra.number, message: "unexpected content; check the indentation")
            }
            return root
        } catch {
            // The path is not unwound on errors: it still leads to where reading stopped.
            var error = error
            if error.field.isEmpty { error.field = Self.field(parser.path) }
            throw error
        }
    }

    /// `providers.deepseek.headers`, `routes.default.primary[1]`; past 8 levels cut with `…`.
    static func field(_ path: [String]) -> String {
        var text = ""
        for component in path.prefix(8) {
            text += text.isEmpty || component.hasPrefix("[") ? component : "." + component
        }
        return path.count > 8 ? text + "…" : text
    }

    /// Opens a collection on `line`, or throws when that nests deeper than ``maximumDepth``.
    mutating func enterCollection(line: Int) throws(YAMLError) {
        guard self.depth < Self.maximumDepth else {
            throw YAMLError(line: line, message: "collections nested deeper than \(Self.maximumDepth) levels")
        }
        self.depth += 1
    }

    private mutating func split(_ text: String) throws(YAMLError) {
        var number = 0
        var seenDocumentStart = false
        // "\r\n" is one Character in Swift: split on it as well as on "\n".
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            var raw = raw
            if raw.last == "\r" { raw.removeLast() }
            let indent = raw.prefix { $0 == " " }.count
            if raw.dropFirst(indent).first == "\t" {
                throw YAMLError(line: number, message: "tabs are not allowed for indentation; use spaces")
            }
            let content = Self.stripComment(raw.dropFirst(indent))
            if indent == 0, content.hasPrefix("%") { throw YAMLError(line: number, message: "YAML directives are not supported") }
            if indent == 0, content == "---" || content.hasPrefix("--- ") {
                guard !seenDocumentStart, self.lines.isEmpty else {
                    throw YAMLError(line: number, message: "only one YAML document is allowed")
                }
                seenDocumentStart = true
                continue
            }
            if indent == 0, content == "..." { break }
            self.lines.append(Line(number: number, indent: indent, content: content, raw: raw))
        }
    }

    /// The next line with content (skipping blank and comment lines), without consuming it.
    mutating func nextContentLine() -> Line? {
        while self.index < self.lines.count, self.lines[self.index].content.isEmpty { self.index += 1 }
        return self.index < self.lines.count ? self.lines[self.index] : nil
    }

    /// Parses the node starting at the current line, whose indentation is at least `indent`.
    mutating func parseNode(indent: Int) throws(YAMLError) -> YAMLNode {
        guard let line = self.nextContentLine(), line.indent >= indent else {
            return YAMLNode(kind: .scalar("", quoted: false), line: self.lines.last?.number ?? 1)
        }
        if Self.isSequenceItem(line.content) { return try self.parseSequence(indent: line.indent) }
        if Self.splitKey(line.content) != nil { return try self.parseMapping(indent: line.indent) }
        self.index += 1
        return try self.parseValue(line.content, line: line, parentIndent: line.indent - 1)
    }

    private mutating func parseSequence(indent: Int) throws(YAMLError) -> YAMLNode {
        let start = self.lines[self.index].number
        try self.enterCollection(line: start)
        var items: [YAMLNode] = []
        while let line = self.nextContentLine(), line.indent == indent, Self.isSequenceItem(line.content) {
            self.path.append("[\(items.count)]")
            let rest = line.content.dropFirst().drop(while: Self.isBlank)
            if rest.isEmpty {
                self.index += 1
                items.append(try self.parseNested(after: line, parentIndent: indent))
            } else if Self.isSequenceItem(rest) || (Self.splitKey(rest) != nil && !rest.hasPrefix("{") && !rest.hasPrefix("[")) {
                // `- key: value` or `- - item`: the rest is a collection indented at its own column.
                let column = indent + (line.content.count - rest.count)
                self.lines[self.index] = Line(number: line.number, indent: column, content: rest, raw: line.raw)
                items.append(try self.parseNode(indent: column))
            } else {
                self.index += 1
                items.append(try self.parseValue(rest, line: line, parentIndent: indent))
            }
            self.path.removeLast()
        }
        try self.checkNoDeeperLine(than: indent)
        self.depth -= 1
        return YAMLNode(kind: .sequence(items), line: start)
    }

    private mutating func parseMapping(indent: Int) throws(YAMLError) -> YAMLNode {
        let start = self.lines[self.index].number
        try self.enterCollection(line: start)
        var pairs: [YAMLNode.Pair] = []
        var seen: Set<String> = []
        while let line = self.nextContentLine(), line.indent == indent, !Self.isSequenceItem(line.content) {
            guard let (keyText, rest) = Self.splitKey(line.content) else {
                throw YAMLError(line: line.number, message: "expected 'key: value'")
            }
            let key = try Self.scalar(keyText, line: line.number)
            guard seen.insert(key.string ?? "").inserted else {
                throw YAMLError(line: line.number, message: "duplicate key '\(key.string ?? "")'")
            }
            self.index += 1
            self.path.append(key.string ?? "")
            let value =
                rest.isEmpty ? try self.parseNested(after: line, parentIndent: indent) : try self.parseValue(rest, line: line, parentIndent: indent)
            self.path.removeLast()
            pairs.append(YAMLNode.Pair(key: key, value: value))
        }
        try self.checkNoDeeperLine(than: indent)
        self.depth -= 1
        return YAMLNode(kind: .mapping(pairs), line: start)
    }

    /// The value on the lines after `key:` or `-`: a more indented node, a sequence at the same
    /// indentation (allowed after a key), or null.
    private mutating func parseNested(after line: Line, parentIndent: Int) throws(YAMLError) -> YAMLNode {
        guard let next = self.nextContentLine() else { return YAMLNode(kind: .scalar("", quoted: false), line: line.number) }
        if next.indent > parentIndent || (next.indent == parentIndent && Self.isSequenceItem(next.content) && !Self.isSequenceItem(line.content)) {
            return try self.parseNode(indent: next.indent)
        }
        return YAMLNode(kind: .scalar("", quoted: false), line: line.number)
    }

    private mutating func checkNoDeeperLine(than indent: Int) throws(YAMLError) {
        if let line = self.nextContentLine(), line.indent > indent {
            throw YAMLError(line: line.number, message: "unexpected indentation")
        }
    }

    static func isSequenceItem(_ content: Substring) -> Bool {
        content == "-" || content.hasPrefix("- ") || content.hasPrefix("-\t")
    }

    /// A space or a tab: what separates tokens within a line (indentation is spaces only).
    static func isBlank(_ character: Character) -> Bool {
        character == " " || character == "\t"
    }
}
