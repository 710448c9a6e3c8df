//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// An incremental parser for the `text/event-stream` format (WHATWG HTML §9.2.6).
///
/// Bytes may be fed in any split — one byte at a time or the whole stream at once — and the
/// same events come out. Lines may end in `\n`, `\r\n` or `\r` (Gemini uses `\r\n\r\n`
/// between events); a single space after a field's colon is optional (DashScope omits it);
/// lines starting with `:` are comments (DashScope's `:HTTP_STATUS/200`).
///
/// ```swift
/// var parser = SSEParser()
/// for event in parser.feed(chunk) { ... }
/// for event in parser.finish() { ... }   // at end of body
/// ```
public struct SSEParser: Sendable {
    /// The longest line accepted (4 MiB); a longer line is a protocol violation, not a memory leak.
    public static let maximumLineLength = 4 << 20

    private var line: [UInt8] = []
    private var lastByteWasCarriageReturn = false
    private var pending = PendingEvent()

    private struct PendingEvent: Sendable {
        var event: String?
        var data: [UInt8] = []
        var hasData = false
        var id: String?
    }

    public init() {}

    /// Consumes `bytes` and returns every event completed by them.
    ///
    /// Lines are found by scanning contiguous memory and copied in one piece each, so a chunk
    /// costs a few allocations (its events), not one per byte.
    public mutating func feed(_ bytes: [UInt8]) throws(TranslationError) -> [SSEEvent] {
        var events: [SSEEvent] = []
        let failure = bytes.withUnsafeBufferPointer { buffer in self.scan(buffer, into: &events) }
        if let failure { throw failure }
        return events
    }

    /// Consumes `bytes` from any sequence (copied to contiguous memory first).
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(TranslationError) -> [SSEEvent] {
        try self.feed(Array(bytes))
    }

    /// Splits `buffer` into lines; returns the error when a line grows past the limit.
    private mutating func scan(_ buffer: UnsafeBufferPointer<UInt8>, into events: inout [SSEEvent]) -> TranslationError? {
        var index = 0
        while index < buffer.count {
            if self.lastByteWasCarriageReturn {
                self.lastByteWasCarriageReturn = false
                if buffer[index] == UInt8(ascii: "\n") {
                    index += 1
                    continue
                }
            }
            var end = index
            while end < buffer.count, buffer[end] != UInt8(ascii: "\n"), buffer[end] != UInt8(ascii: "\r") { end += 1 }
            self.line.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index..<end]))
            guard self.line.count <= Self.maximumLineLength else {
                return TranslationError(.streamProtocolViolation, "event stream line longer than \(Self.maximumLineLength) bytes")
            }
            guard end < buffer.count else { break }
            self.lastByteWasCarriageReturn = buffer[end] == UInt8(ascii: "\r")
            self.endLine(into: &events)
            index = end + 1
        }
        return nil
    }

    /// Ends the stream. An event that was not followed by a blank line is still dispatched,
    /// because several providers end their final event without one.
    public mutating func finish() -> [SSEEvent] {
        var events: [SSEEvent] = []
        if !self.line.isEmpty { self.endLine(into: &events) }
        self.dispatch(into: &events)
        return events
    }

    private mutating func endLine(into events: inout [SSEEvent]) {
        defer { self.line.removeAll(keepingCapacity: true) }
        guard !self.line.isEmpty else {
            self.dispatch(into: &events)
            return
        }
        guard self.line[0] != UInt8(ascii: ":") else { return }
        let colon = self.line.firstIndex(of: UInt8(ascii: ":")) ?? self.line.endIndex
        var valueStart = colon == self.line.endIndex ? colon : colon + 1
        if valueStart < self.line.endIndex, self.line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = self.line[valueStart...]
        switch Self.fieldName(self.line[..<colon]) {
        case .data:
            if self.pending.hasData { self.pending.data.append(UInt8(ascii: "\n")) }
            self.pending.data.append(contentsOf: value)
            self.pending.hasData = true
        case .event:
            self.pending.event = String(decoding: value, as: UTF8.self)
        case .id:
            self.pending.id = String(decoding: value, as: UTF8.self)
        case .other:
            break
        }
    }

    private mutating func dispatch(into events: inout [SSEEvent]) {
        defer { self.pending = PendingEvent() }
        guard self.pending.hasData else { return }
        events.append(SSEEvent(event: self.pending.event, data: self.pending.data, id: self.pending.id))
    }

    private enum Field {
        case data
        case event
        case id
        case other
    }

    private static func fieldName(_ name: ArraySlice<UInt8>) -> Field {
        if name.elementsEqual("data".utf8) { return .data }
        if name.elementsEqual("event".utf8) { return .event }
        if name.elementsEqual("id".utf8) { return .id }
        return .other
    }
}
