//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import Sidecar

/// The keeper asks for reads while one request is outstanding (so the socket's read interest is
/// never dropped and added back per request), and stops once a client pipelines.
@Suite struct ReadInterestKeeperTests {
    /// Counts the `read()` calls that reach the socket's side of the pipeline.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = HTTPServerResponsePart
        var reads = 0

        func read(context: ChannelHandlerContext) {
            self.reads += 1
            context.read()
        }
    }

    static let head = HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/chat/completions"))

    static func connectedChannel() throws -> (EmbeddedChannel, ReadCounter) {
        let counter = ReadCounter()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(counter, ReadInterestKeeper())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, counter)
    }

    @Test func asksForTheNextReadWhileTheAnswerIsProduced() throws {
        let (channel, counter) = try Self.connectedChannel()
        defer { _ = try? channel.finish() }
        try channel.writeInbound(Self.head)
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        let afterRequest = counter.reads
        #expect(afterRequest >= 1)
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        try channel.writeInbound(Self.head)
        #expect(counter.reads > afterRequest)
    }

    @Test func stopsAskingOnceAClientPipelines() throws {
        let (channel, counter) = try Self.connectedChannel()
        defer { _ = try? channel.finish() }
        try channel.writeInbound(Self.head)
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        try channel.writeInbound(Self.head)
        let whilePipelined = counter.reads
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(counter.reads == whilePipelined)
        // The first answer ends: one request is outstanding again, so reading resumes.
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        channel.pipeline.fireChannelReadComplete()
        #expect(counter.reads == whilePipelined + 1)
    }
}
