//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore

/// Decodes the store's RESP2 replies, one ``RESPValue`` per complete reply, however the bytes are split
/// across reads (one byte at a time, or many replies in one read).
///
/// It is incremental: each line or bulk string is consumed once as it completes and kept in a stack of
/// open arrays, so a large reply arriving in many reads costs time linear in its size. It is bounded;
/// beyond any of these limits it throws ``RedisError`` (`store_unavailable`), and the connection is
/// closed, never crashed:
/// - a line (`+`, `-`, `:`, `$`, `*` and what follows, without CRLF): at most 65,536 bytes, refused as
///   soon as 65,538 bytes arrive without an LF;
/// - a bulk string: at most 536,870,912 bytes (512 MiB, Redis's own `proto-max-bulk-len`), refused
///   from its header, before its bytes arrive;
/// - an array: at most 1,048,576 elements, refused from its header (and capacity is reserved for at
///   most 1,024 elements up front, so a header alone allocates almost nothing);
/// - nesting: at most 32 arrays deep;
/// - one whole reply: at most 512 MiB + 64 KiB on the wire, so the bytes held for a reply that is still
///   arriving are bounded even when each element is small.
struct RESPDecoder: ByteToMessageDecoder {
    typealias InboundOut = RESPValue

    static let maximumLineLength = 64 * 1024
    static let maximumBulkLength = 512 * 1024 * 1024
    static let maximumArrayCount = 1_048_576
    static let maximumDepth = 32
    /// 512 MiB + 64 KiB: a bulk string at its limit, with its header, fits.
    static let defaultMaximumReplyBytes = maximumBulkLength + maximumLineLength

    /// The most wire bytes one reply may take (a parameter for tests: the default is 512 MiB + 64 KiB).
    let maximumReplyBytes: Int

    private enum Item {
        case value(RESPValue)
        case arrayHeader(count: Int)
    }

    private struct OpenArray {
        var remaining: Int
        var elements: [RESPValue]
    }

    /// Arrays whose elements are still arriving, outermost first.
    private var open: [OpenArray] = []
    /// The length of the bulk string whose header has been read and whose bytes have not all arrived.
    private var pendingBulkLength: Int?
    /// Wire bytes of the reply being decoded so far.
    private var replyBytes = 0
    /// Bytes at the reader index already searched for LF, so an incomplete line is searched only once.
    private var scannedLineBytes = 0

    init(maximumReplyBytes: Int = Self.defaultMaximumReplyBytes) {
        self.maximumReplyBytes = maximumReplyBytes
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let reply = try self.decodeReply(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(reply))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        try self.decode(context: context, buffer: &buffer)
    }

    /// The next complete reply in `buffer` (its bytes consumed), or nil when more bytes are needed.
    mutating func decodeReply(_ buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        while let item = try self.nextItem(&buffer) {
            if let reply = try self.complete(item) { return reply }
        }
        return nil
    }

    /// Adds `item` to the innermost open array; returns the reply once its outermost value is complete.
    private mutating func complete(_ item: Item) throws(RedisError) -> RESPValue? {
        var value: RESPValue
        switch item {
        case .value(let item):
            value = item
        case .arrayHeader(let count):
            guard self.open.count < Self.maximumDepth else { throw Self.invalid("arrays nested deeper than \(Self.maximumDepth)") }
            guard count == 0 else {
                var elements: [RESPValue] = []
                elements.reserveCapacity(min(count, 1024))
                self.open.append(OpenArray(remaining: count, elements: elements))
                return nil
            }
            value = .array([])
        }
        while !self.open.isEmpty {
            let last = self.open.count - 1
            self.open[last].elements.append(value)
            self.open[last].remaining -= 1
            guard self.open[last].remaining == 0 else { return nil }
            value = .array(self.open.removeLast().elements)
        }
        self.replyBytes = 0
        return value
    }

    /// The next line's value or array header, or a whole bulk string; nil when it has not all arrived.
    private mutating func nextItem(_ buffer: inout ByteBuffer) throws(RedisError) -> Item? {
        if let length = self.pendingBulkLength {
            guard buffer.readableBytes >= length + 2, let bytes = buffer.readBytes(length: length) else { return nil }
            guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { throw Self.invalid("a bulk string not followed by CRLF") }
            self.pendingBulkLength = nil
            return .value(.bulkString(bytes))
        }
        guard var line = try self.readLine(&buffer) else { return nil }
        try self.count(line.readableBytes + 2)
        let type = line.readInteger(as: UInt8.self)
        switch type {
        case UInt8(ascii: "+"): return .value(.simpleString(String(buffer: line)))
        case UInt8(ascii: "-"): return .value(.error(String(buffer: line)))
        case UInt8(ascii: ":"): return .value(.integer(try Self.integer(line)))
        case UInt8(ascii: "$"):
            let length = try Self.length(line, limit: Self.maximumBulkLength, of: "a bulk string")
            guard let length else { return .value(.bulkString(nil)) }
            try self.count(length + 2)
            self.pendingBulkLength = length
            return try self.nextItem(&buffer)
        case UInt8(ascii: "*"):
            let count = try Self.length(line, limit: Self.maximumArrayCount, of: "an array")
            guard let count else { return .value(.array(nil)) }
            return .arrayHeader(count: count)
        default:
            throw Self.invalid("a reply of unknown type \(type.map { String($0) } ?? "(empty line)")")
        }
    }

    /// The next line without its CRLF, or nil when its LF has not arrived.
    private mutating func readLine(_ buffer: inout ByteBuffer) throws(RedisError) -> ByteBuffer? {
        let view = buffer.readableBytesView
        let searchEnd = view.startIndex + min(view.count, Self.maximumLineLength + 2)
        guard let newline = view[(view.startIndex + self.scannedLineBytes)..<searchEnd].firstIndex(of: UInt8(ascii: "\n")) else {
            guard view.count < Self.maximumLineLength + 2 else { throw Self.invalid("a line longer than \(Self.maximumLineLength) bytes") }
            self.scannedLineBytes = view.count
            return nil
        }
        guard newline > view.startIndex, view[newline - 1] == UInt8(ascii: "\r") else { throw Self.invalid("a line not ended by CRLF") }
        self.scannedLineBytes = 0
        let line = buffer.readSlice(length: newline - 1 - view.startIndex)
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    private mutating func count(_ bytes: Int) throws(RedisError) {
        self.replyBytes += bytes
        guard self.replyBytes <= self.maximumReplyBytes else { throw Self.invalid("a reply longer than \(self.maximumReplyBytes) bytes") }
    }

    /// A bulk string's or array's length: nil for -1, else 0 through `limit`.
    private static func length(_ line: ByteBuffer, limit: Int, of kind: String) throws(RedisError) -> Int? {
        let value = try Self.integer(line)
        guard value != -1 else { return nil }
        guard value >= 0 else { throw Self.invalid("\(kind) of length \(value)") }
        guard value <= limit else { throw Self.invalid("\(kind) of length \(value), over the limit of \(limit)") }
        return Int(value)
    }

    /// A decimal Int64: an optional `-` and 1 or more digits, nothing else, no overflow.
    private static func integer(_ line: ByteBuffer) throws(RedisError) -> Int64 {
        var digits = line.readableBytesView[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty else { throw Self.invalid("an integer without digits") }
        // Accumulated negatively, so Int64.min is representable.
        var value: Int64 = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { throw Self.invalid("a non-digit in an integer") }
            let (times10, overflow) = value.multipliedReportingOverflow(by: 10)
            let (next, underflow) = times10.subtractingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow, !underflow else { throw Self.invalid("an integer out of the 64-bit range") }
            value = next
        }
        if negative { return value }
        guard value != .min else { throw Self.invalid("an integer out of the 64-bit range") }
        return -value
    }

    private static func invalid(_ reason: String) -> RedisError {
        .unavailable("the store sent an invalid reply: \(reason)")
    }
}
