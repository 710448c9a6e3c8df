//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOEmbedded
import Testing

@testable import Sidecar

/// The RESP2 decoder: every split of the bytes gives the same replies, and every limit is refused
/// with an error rather than memory or a crash.
@Suite struct RESPDecoderTests {
    /// One of each kind of reply, the awkward ones included.
    static let sample: [RESPValue] = [
        .simpleString("OK"), .simpleString(""), .error("NOSCRIPT No matching script. Please use EVAL."),
        .integer(0), .integer(-1), .integer(.max), .integer(.min),
        .bulkString(nil), .bulkString([]), .bulkString(Array("a\r\nb\r\n$3\r\n*1\r\n".utf8)), .bulkString([0, 13, 10, 255]),
        .array(nil), .array([]), .array([.array([.integer(1), .bulkString(nil)]), .array([]), .error("ERR x")]),
    ]

    @Test func everySplitPointGivesTheSameReplies() throws {
        let bytes = Self.sample.flatMap(Self.encode)
        for split in 0...bytes.count {
            #expect(try Self.decode([Array(bytes[..<split]), Array(bytes[split...])]) == Self.sample, "split at \(split)")
        }
        #expect(try Self.decode(bytes.map { [$0] }) == Self.sample, "byte by byte")
    }

    @Test func manyRepliesInOneRead() throws {
        let replies = (0..<1000).map { RESPValue.array([.integer(Int64($0)), .bulkString(Array("v\($0)".utf8))]) }
        #expect(try Self.decode([replies.flatMap(Self.encode)]) == replies)
    }

    /// Random reply trees cut at random points (seeded, so a failure names its seed and reproduces).
    @Test(arguments: 0..<300 as Range<UInt64>) func randomRepliesCutAtRandomPoints(seed: UInt64) throws {
        var random = ResilienceTests.SeededGenerator(state: seed)
        let replies = (0..<Int.random(in: 1...12, using: &random)).map { _ in Self.randomValue(depth: 0, using: &random) }
        let bytes = replies.flatMap(Self.encode)
        var chunks: [[UInt8]] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + Int.random(in: 1...40, using: &random))
            chunks.append(Array(bytes[start..<end]))
            start = end
        }
        #expect(try Self.decode(chunks) == replies, "seed \(seed)")
    }

    @Test func limitsAreAcceptedUpToTheirValue() throws {
        let line = 65_536
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: "$536870912\r\n")
        #expect(try decoder.decodeReply(&buffer) == nil, "a bulk string of 512 MiB is waited for")
        decoder = RESPDecoder()
        buffer = ByteBuffer(string: "*1048576\r\n")
        #expect(try decoder.decodeReply(&buffer) == nil, "an array of 1,048,576 elements is waited for")
        let nested = String(repeating: "*1\r\n", count: 32) + ":7\r\n"
        let expected = (0..<32).reduce(RESPValue.integer(7)) { inner, _ in .array([inner]) }
        #expect(try Self.decode([Array(nested.utf8)]) == [expected])
        let longest = "+" + String(repeating: "a", count: line - 1)
        #expect(try Self.decode([Array((longest + "\r\n").utf8)]) == [.simpleString(String(repeating: "a", count: line - 1))])
        decoder = RESPDecoder()
        buffer = ByteBuffer(string: "+" + String(repeating: "a", count: line))
        #expect(try decoder.decodeReply(&buffer) == nil, "65,537 bytes without LF may still end in CRLF")
    }

    /// Bytes the decoder must refuse, named by the reason it gives (the bytes can be 70 KB).
    struct Refusal: CustomTestStringConvertible, Sendable {
        var bytes: String
        var reason: String
        var testDescription: String { self.reason }
    }

    static let refused: [Refusal] = [
        Refusal(bytes: "$536870913\r\n", reason: "a bulk string of length 536870913, over the limit"),
        Refusal(bytes: "*1048577\r\n", reason: "an array of length 1048577, over the limit"),
        Refusal(bytes: String(repeating: "*1\r\n", count: 33), reason: "arrays nested deeper than 32"),
        Refusal(bytes: String(repeating: "*1\r\n", count: 32) + "*0\r\n", reason: "arrays nested deeper than 32"),
        Refusal(bytes: "+" + String(repeating: "a", count: 65_536) + "\r\n", reason: "a line longer than 65536 bytes"),
        Refusal(bytes: "+" + String(repeating: "a", count: 70_000), reason: "a line longer than 65536 bytes"),
        Refusal(bytes: "+OK\n", reason: "a line not ended by CRLF"),
        Refusal(bytes: "\n", reason: "a line not ended by CRLF"),
        Refusal(bytes: "\r\n", reason: "unknown type (empty line)"),
        Refusal(bytes: "%1\r\n", reason: "unknown type 37"),
        Refusal(bytes: ":12a\r\n", reason: "a non-digit"),
        Refusal(bytes: ": 1\r\n", reason: "a non-digit"),
        Refusal(bytes: ":+1\r\n", reason: "a non-digit"),
        Refusal(bytes: ":\r\n", reason: "without digits"),
        Refusal(bytes: ":-\r\n", reason: "without digits"),
        Refusal(bytes: ":9223372036854775808\r\n", reason: "out of the 64-bit range"),
        Refusal(bytes: ":-9223372036854775809\r\n", reason: "out of the 64-bit range"),
        Refusal(bytes: "$-2\r\n", reason: "a bulk string of length -2"),
        Refusal(bytes: "*-2\r\n", reason: "an array of length -2"),
        Refusal(bytes: "$3\r\nabcXY", reason: "a bulk string not followed by CRLF"),
    ]

    @Test(arguments: refused) func overLimitOrMalformedIsRefused(_ refusal: Refusal) {
        var decoder = RESPDecoder()
        var buffer = ByteBuffer(string: refusal.bytes)
        #expect {
            while try decoder.decodeReply(&buffer) != nil {}
        } throws: { error in
            let error = error as? RedisError
            return error?.code == "store_unavailable" && error?.message.contains(refusal.reason) == true
        }
    }

    /// The whole reply's size is bounded too, so a reply of many small elements cannot grow forever.
    @Test func aReplyOverItsByteLimitIsRefused() throws {
        var decoder = RESPDecoder(maximumReplyBytes: 100)
        var buffer = ByteBuffer(string: "*1000\r\n" + String(repeating: ":1\r\n", count: 30))
        #expect(throws: RedisError.unavailable("the store sent an invalid reply: a reply longer than 100 bytes")) {
            while try decoder.decodeReply(&buffer) != nil {}
        }
        // The count restarts with each reply: many small replies in a row are fine.
        decoder = RESPDecoder(maximumReplyBytes: 100)
        #expect(try Self.decode([Array(String(repeating: "*2\r\n:1\r\n:2\r\n", count: 100).utf8)], decoder: decoder).count == 100)
    }

    /// In a channel, a refused reply is an error the pipeline sees (which closes the connection).
    @Test func inAChannelTheErrorReachesThePipeline() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RESPDecoder()))
        try channel.writeInbound(ByteBuffer(string: "+OK\r\n:5\r\n"))
        #expect(try channel.readInbound(as: RESPValue.self) == .simpleString("OK"))
        #expect(try channel.readInbound(as: RESPValue.self) == .integer(5))
        #expect(throws: RedisError.self) { try channel.writeInbound(ByteBuffer(string: "$999999999999\r\n")) }
        _ = try? channel.finish()
    }

    // MARK: Helpers

    /// Feeds `chunks` one read at a time, as ByteToMessageHandler does, and returns every reply.
    static func decode(_ chunks: [[UInt8]], decoder: RESPDecoder = RESPDecoder()) throws -> [RESPValue] {
        var decoder = decoder
        var buffer = ByteBuffer()
        var replies: [RESPValue] = []
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while let reply = try decoder.decodeReply(&buffer) { replies.append(reply) }
        }
        #expect(buffer.readableBytes == 0, "every byte consumed")
        return replies
    }

    /// `value` as a server would send it.
    static func encode(_ value: RESPValue) -> [UInt8] {
        switch value {
        case .simpleString(let text): Array("+\(text)\r\n".utf8)
        case .error(let text): Array("-\(text)\r\n".utf8)
        case .integer(let number): Array(":\(number)\r\n".utf8)
        case .bulkString(nil): Array("$-1\r\n".utf8)
        case .bulkString(let bytes?): Array("$\(bytes.count)\r\n".utf8) + bytes + [13, 10]
        case .array(nil): Array("*-1\r\n".utf8)
        case .array(let elements?): Array("*\(elements.count)\r\n".utf8) + elements.flatMap(Self.encode)
        }
    }

    static func randomValue(depth: Int, using random: inout some RandomNumberGenerator) -> RESPValue {
        switch Int.random(in: depth < 4 ? 0...6 : 0...5, using: &random) {
        case 0: .simpleString(String(repeating: "s", count: Int.random(in: 0...20, using: &random)))
        case 1: .error("ERR " + String(repeating: "e", count: Int.random(in: 0...20, using: &random)))
        case 2: .integer(Int64.random(in: .min ... .max, using: &random))
        case 3: .bulkString((0..<Int.random(in: 0...60, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        case 4: .bulkString(nil)
        case 5: .array(nil)
        default:
            .array((0..<Int.random(in: 0...5, using: &random)).map { _ in Self.randomValue(depth: depth + 1, using: &random) })
        }
    }
}
