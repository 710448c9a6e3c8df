//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CYAML

/// Parses the YAML that configuration files are written in, with libyaml's event parser (the C
/// parser that Yams wraps, used directly so that the sidecar stays free of Foundation): block and
/// flow mappings and sequences, plain, single- and double-quoted, literal (`|`) and folded (`>`)
/// scalars, comments (after a space or a tab), lines ending in LF or CRLF.
///
/// Refused with an error naming the line rather than misread: anchors and aliases (a
/// configuration needs none, and aliases are how a few lines expand into billions of nodes),
/// tags, directives (`%YAML`), duplicate keys, keys that are collections, and a second document.
/// Text after an explicit document end (`...`) is not read. Reading stops after ``maximumSize``
/// (4 MiB; the shipped `sidecar.yaml` is 22 KB) with an error on the line where it stopped.
///
/// Collections nest at most ``maximumDepth`` (64) levels, block and flow together — a
/// configuration needs about 6 — so a hostile or broken file is an error naming its line and
/// field. Nodes are built on an explicit stack, never by recursion.
package struct YAMLParser {
    /// The deepest nesting of mappings and sequences (block and flow together) accepted.
    package static let maximumDepth = 64
    /// The largest document read, in bytes of UTF-8: 4 MiB.
    package static let maximumSize = 4 << 20

    /// A mapping or sequence whose end has not been read yet.
    private struct OpenCollection {
        var line: Int
        var isMapping: Bool
        var items: [YAMLNode] = []
        var pairs: [YAMLNode.Pair] = []
        /// The mapping key whose value is being read.
        var key: YAMLNode?
        var keys: Set<String> = []

        var node: YAMLNode { YAMLNode(kind: self.isMapping ? .mapping(self.pairs) : .sequence(self.items), line: self.line) }
    }

    /// Collections open around the current event, outermost first (at most ``maximumDepth``).
    private var open: [OpenCollection] = []
    private var root: YAMLNode?
    private var seenDocument = false
    private var finished = false

    /// The document's root node, or `nil` for an empty document.
    package static func parse(_ text: String) throws(YAMLError) -> YAMLNode? {
        var text = text
        return try text.withUTF8 { utf8 in
            var input = Input(bytes: utf8)
            return withUnsafeMutablePointer(to: &input) { Self.parse(input: $0) }
        }.get()
    }

    /// Reads libyaml's events one at a time; each event and the parser are freed on every path.
    private static func parse(input: UnsafeMutablePointer<Input>) -> Result<YAMLNode?, YAMLError> {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return .failure(YAMLError(line: 1, message: "out of memory")) }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input(&parser, { Input.read($0, $1, $2, $3) }, input)
        var builder = YAMLParser()
        while !builder.finished {
            var event = yaml_event_t()
            defer { yaml_event_delete(&event) }
            guard yaml_parser_parse(&parser, &event) == 1 else {
                guard !input.pointee.exceeded else { return .failure(input.pointee.tooLarge(field: Self.field(builder.path))) }
                return .failure(Self.error(parser, in: input.pointee, path: builder.path))
            }
            do throws(YAMLError) {
                try builder.handle(event)
            } catch {
                // The field is where reading stopped: the keys and indexes of the open collections.
                var error = error
                error.field = Self.field(builder.path)
                return .failure(error)
            }
        }
        // An empty document (`---` alone) is an empty plain scalar to libyaml: no document.
        guard let root = builder.root, root.kind != .scalar("", quoted: false) else { return .success(nil) }
        return .success(root)
    }

    /// `providers.deepseek.headers`, `routes.default.primary[1]`; past 8 levels cut with `…`.
    package static func field(_ path: [String]) -> String {
        var text = ""
        for component in path.prefix(8) {
            text += text.isEmpty || component.hasPrefix("[") ? component : "." + component
        }
        return path.count > 8 ? text + "…" : text
    }

    /// The keys and `[index]`es leading to the entry being read.
    private var path: [String] {
        self.open.compactMap { collection in
            collection.isMapping ? collection.key.map { $0.string ?? "" } : "[\(collection.items.count)]"
        }
    }

    private mutating func handle(_ event: yaml_event_t) throws(YAMLError) {
        let line = Int(event.start_mark.line) + 1
        switch event.type {
        case YAML_STREAM_END_EVENT:
            self.finished = true
        case YAML_DOCUMENT_START_EVENT:
            let document = event.data.document_start
            if document.version_directive != nil || document.tag_directives.start != document.tag_directives.end {
                throw YAMLError(line: line, message: "YAML directives are not supported")
            }
            guard !self.seenDocument else { throw YAMLError(line: line, message: "only one YAML document is allowed") }
            self.seenDocument = true
        case YAML_DOCUMENT_END_EVENT:
            // What follows an explicit `...` is not read.
            if event.data.document_end.implicit == 0 { self.finished = true }
        case YAML_ALIAS_EVENT:
            throw Self.unsupported(line: line)
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            guard scalar.anchor == nil, scalar.tag == nil else { throw Self.unsupported(line: line) }
            let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            try self.add(YAMLNode(kind: .scalar(text, quoted: scalar.style != YAML_PLAIN_SCALAR_STYLE), line: line))
        case YAML_SEQUENCE_START_EVENT:
            guard event.data.sequence_start.anchor == nil, event.data.sequence_start.tag == nil else { throw Self.unsupported(line: line) }
            try self.openCollection(OpenCollection(line: line, isMapping: false))
        case YAML_MAPPING_START_EVENT:
            guard event.data.mapping_start.anchor == nil, event.data.mapping_start.tag == nil else { throw Self.unsupported(line: line) }
            try self.openCollection(OpenCollection(line: line, isMapping: true))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            try self.add(self.open.removeLast().node)
        default:
            break
        }
    }

    private static func unsupported(line: Int) -> YAMLError {
        YAMLError(line: line, message: "anchors, aliases and tags are not supported")
    }

    /// Opens a collection, or throws when that nests deeper than ``maximumDepth``.
    private mutating func openCollection(_ collection: OpenCollection) throws(YAMLError) {
        guard self.open.count < Self.maximumDepth else {
            throw YAMLError(line: collection.line, message: "collections nested deeper than \(Self.maximumDepth) levels")
        }
        self.open.append(collection)
    }

    /// Puts a finished node where it belongs: the root, a sequence item, a mapping key or value.
    private mutating func add(_ node: YAMLNode) throws(YAMLError) {
        guard var collection = self.open.popLast() else {
            self.root = node
            return
        }
        defer { self.open.append(collection) }
        if !collection.isMapping {
            collection.items.append(node)
        } else if let key = collection.key {
            collection.pairs.append(YAMLNode.Pair(key: key, value: node))
            collection.key = nil
        } else {
            guard case .scalar = node.kind else { throw YAMLError(line: node.line, message: "a key must be a scalar, not a collection") }
            guard collection.keys.insert(node.string ?? "").inserted else {
                throw YAMLError(line: node.line, message: "duplicate key '\(node.string ?? "")'")
            }
            collection.key = node
        }
    }
}
