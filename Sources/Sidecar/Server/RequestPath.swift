//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SidecarModel

/// The one normal form of a request path, computed once before routing, so that a route, the
/// quota and the provider all see the same path (RFC 3986 §6.2.2).
///
/// - Percent-encoded unreserved characters are decoded (`%2e` → `.`, `%63` → `c`); other
///   escapes are kept, their hex digits upper-cased. An escaped `/` (`%2F`) stays escaped: it
///   is data (a model id such as `meta-llama%2FLlama-3`), not a separator.
/// - `.` segments, empty segments (`//`) and a trailing `/` are dropped; `..` removes the
///   segment before it.
///
/// Refused with 400 `invalid_request`: a `..` that would climb above `/`; a segment that,
/// decoded, holds a control character or whose parts between `/` or `\` are `.` or `..`
/// (`..%2F..`); a raw `\`, control character, space or non-ASCII byte; a malformed escape; a
/// query with a control character or space. Longer than ``maximumBytes`` (2,048): 414.
/// libcurl is told not to normalise again (`CURLOPT_PATH_AS_IS`), so the provider receives
/// exactly this form.
enum RequestPath {
    /// The longest path accepted, in bytes, before normalisation (2,048; the query is not counted).
    static let maximumBytes = 2048

    /// `path` in normal form, or why it is refused.
    static func normalized(_ path: String, query: String?) throws(ProxyError) -> String {
        guard path.utf8.count <= Self.maximumBytes else {
            throw ProxyError(.uriTooLong, "The request path is longer than \(Self.maximumBytes) bytes.")
        }
        guard path.utf8.first == UInt8(ascii: "/"), path.utf8.allSatisfy(Self.isAllowedRaw) else {
            throw Self.invalid("The request path must start with '/' and hold only printable ASCII without '\\' (escape other bytes).")
        }
        if let query, !query.utf8.allSatisfy(Self.isAllowedRaw) {
            throw Self.invalid("The query string holds a control character, a space or a non-ASCII byte; escape it.")
        }
        return Self.isNormal(path) ? path : try Self.normalizedBySegments(path)
    }

    /// `path` (checked: starts with `/`, allowed bytes only) rebuilt segment by segment.
    static func normalizedBySegments(_ path: String) throws(ProxyError) -> String {
        var segments: [String] = []
        for raw in path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            let segment = try Self.segment(raw)
            switch segment {
            case ".": continue
            case "..":
                guard segments.popLast() != nil else { throw Self.invalid("The request path climbs above '/' with '..'.") }
            default: segments.append(segment)
            }
        }
        return "/" + segments.joined(separator: "/")
    }

    /// Whether `path` is its own normal form: segments of unreserved characters only (so no
    /// escape), none empty (no `//`, no trailing `/`), none `.` or `..`. Nearly every request's
    /// path is (`/v1/chat/completions`) and is kept as it is, without rebuilding each segment.
    private static func isNormal(_ path: String) -> Bool {
        var length = 0
        var dots = 0
        for byte in path.utf8.dropFirst() {
            if byte == UInt8(ascii: "/") {
                guard length > 0, !(dots == length && length <= 2) else { return false }
                (length, dots) = (0, 0)
            } else {
                guard Self.isUnreserved(byte) else { return false }
                length += 1
                if byte == UInt8(ascii: ".") { dots += 1 }
            }
        }
        return length > 0 && !(dots == length && length <= 2)
    }

    /// A segment with unreserved escapes decoded and the others upper-cased; refused when it
    /// hides a control character or a dot segment behind an escaped separator.
    private static func segment(_ raw: Substring.UTF8View.SubSequence) throws(ProxyError) -> String {
        var normal: [UInt8] = []
        var decoded: [UInt8] = []
        normal.reserveCapacity(raw.count)
        var index = raw.startIndex
        while index < raw.endIndex {
            let byte = raw[index]
            guard byte == UInt8(ascii: "%") else {
                normal.append(byte)
                decoded.append(byte)
                index = raw.index(after: index)
                continue
            }
            let high = raw.index(after: index)
            guard high < raw.endIndex, raw.index(after: high) < raw.endIndex,
                let value = Self.hexValue(raw[high], raw[raw.index(after: high)])
            else {
                throw Self.invalid("The request path holds a malformed percent escape.")
            }
            guard value >= 0x20, value != 0x7F else { throw Self.invalid("The request path holds an escaped control character.") }
            if Self.isUnreserved(value) {
                normal.append(value)
            } else {
                normal.append(contentsOf: [UInt8(ascii: "%"), Self.hexDigit(value >> 4), Self.hexDigit(value & 0xF)])
            }
            decoded.append(value)
            index = raw.index(index, offsetBy: 3)
        }
        let parts = decoded.split(omittingEmptySubsequences: false) { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") }
        if parts.count > 1, parts.contains(where: { $0.elementsEqual(".".utf8) || $0.elementsEqual("..".utf8) }) {
            throw Self.invalid("The request path hides a '.' or '..' segment behind an escaped '/' or '\\'.")
        }
        return String(decoding: normal, as: UTF8.self)
    }

    /// Visible ASCII except `\` (some servers read it as `/`).
    private static func isAllowedRaw(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\")
    }

    /// RFC 3986 unreserved: letters, digits, `-`, `.`, `_`, `~`.
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"): true
        default: false
        }
    }

    private static func hexValue(_ high: UInt8, _ low: UInt8) -> UInt8? {
        func nibble(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        guard let high = nibble(high), let low = nibble(low) else { return nil }
        return high << 4 | low
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        Array("0123456789ABCDEF".utf8)[Int(value)]
    }

    private static func invalid(_ message: String) -> ProxyError {
        ProxyError(.invalidRequest, message)
    }

    /// `segment` with every escape decoded (a model id in `/v1/models/{id}`).
    static func decoded(_ segment: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = segment.utf8[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2, let value = Self.hexValue(utf8[utf8.startIndex], utf8[utf8.index(after: utf8.startIndex)])
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
