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
import Translate

@testable import Sidecar
@testable import SidecarModel

/// The connection pipeline as ``HTTPServer`` builds it, on a `NIOAsyncTestingChannel` with explicit
/// time: idle keep-alive connections, read deadlines for pipelined requests, body limits and
/// budgets, `Content-Length` validation.
@Suite struct ConnectionLifecycleTests {
    static let idle = TimeAmount.seconds(5)
    static let read = TimeAmount.seconds(2)

    /// A connected channel with the server's pipeline. `/stream` answers a stream that stays
    /// open until `gate` finishes; everything else answers 200, or the body's refusal.
    static func connection(
        maximumBodyBytes: Int = 1024,
        budget: (pool: CapacityPool, limit: Int)? = nil,
        gate: AsyncStream<Void>? = nil
    ) async throws -> NIOAsyncTestingChannel {
        let channel = NIOAsyncTestingChannel()
        var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0, maximumBodyBytes: { maximumBodyBytes })
        configuration.idleTimeout = Self.idle
        configuration.requestReadTimeout = Self.read
        if let budget { configuration.requestBudget = { BufferBudget(pool: budget.pool, limit: budget.limit) } }
        let responder: HTTPRequestHandler.Responder = { request in
            if let refusal = request.bodyRefusal {
                return .json(refusal.openAIBody.json, status: HTTPResponseStatus(statusCode: refusal.status))
            }
            guard request.path == "/stream", let gate else { return .json(["ok": true]) }
            return ServerResponse(
                status: .ok,
                body: .stream { writer in
                    try? await writer.write(Array("data: 1\n\n".utf8))
                    for await _ in gate {}
                }
            )
        }
        let settings = configuration
        try await channel.testingEventLoop.executeInContext {
            try HTTPServer.configure(channel.pipeline.syncOperations, configuration: settings, responder: responder)
        }
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9))
        return channel
    }

    /// Everything written to the client so far, as text.
    static func written(_ channel: NIOAsyncTestingChannel) async throws -> String {
        await Self.settle(channel)
        var text = ""
        while let buffer = try await channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    static func send(_ text: String, to channel: NIOAsyncTestingChannel) async throws {
        try await channel.writeInbound(ByteBuffer(string: text))
        await Self.settle(channel)
    }

    /// Runs what is due now on the loop, including the request tasks it starts.
    static func settle(_ channel: NIOAsyncTestingChannel) async {
        for _ in 0..<20 {
            await channel.testingEventLoop.run()
            await Task.yield()
        }
    }

    static func advance(_ channel: NIOAsyncTestingChannel, by amount: TimeAmount) async {
        await channel.testingEventLoop.advanceTime(by: amount)
        await Self.settle(channel)
    }

    static let get = "GET /x HTTP/1.1\r\nHost: s\r\n\r\n"

    /// What `IdleStateHandler` sends after `server.idle_timeout` without reads or writes (it
    /// measures by the wall clock, so the tests send it themselves).
    static func idleEvent(_ channel: NIOAsyncTestingChannel) async {
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
        await Self.settle(channel)
    }

    @Test func aKeepAliveConnectionThatServedARequestIsClosedWhenIdle() async throws {
        let channel = try await Self.connection()
        try await Self.send(Self.get, to: channel)
        #expect(try await Self.written(channel).hasPrefix("HTTP/1.1 200 OK"))
        #expect(channel.isActive)
        await Self.idleEvent(channel)
        #expect(!channel.isActive)
    }

    @Test func aConnectionAnsweringOrReceivingIsNotIdle() async throws {
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let channel = try await Self.connection(gate: gate)
        try await Self.send("GET /stream HTTP/1.1\r\nHost: s\r\n\r\n", to: channel)
        await Self.idleEvent(channel)
        #expect(channel.isActive)
        open.finish()
        await Self.settle(channel)
        #expect(try await Self.written(channel).contains("data: 1"))
        try await Self.send("POST /x HTTP/1.1\r\nHost: s\r\nContent-Length: 10\r\n\r\nabc", to: channel)
        await Self.idleEvent(channel)
        #expect(channel.isActive)  // the read deadline's business
        await Self.advance(channel, by: Self.read)
        #expect(!channel.isActive)
    }

    @Test func halfARequestPipelinedBehindAStreamGets408AtTheReadDeadline() async throws {
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let channel = try await Self.connection(gate: gate)
        try await Self.send("GET /stream HTTP/1.1\r\nHost: s\r\n\r\nPOST /x HTTP/1.1\r\nHost: s\r\nContent-Length: 10\r\n\r\nabc", to: channel)
        // While the stream runs the deadline pauses: the server reads nothing then.
        await Self.advance(channel, by: Self.read * 3)
        #expect(channel.isActive)
        open.finish()
        await Self.settle(channel)
        await Self.advance(channel, by: Self.read - .milliseconds(100))
        #expect(channel.isActive)
        await Self.advance(channel, by: .milliseconds(200))
        #expect(try await Self.written(channel).contains("HTTP/1.1 408 Request Timeout"))
        #expect(!channel.isActive)
    }

    @Test func halfARequestSentWhileAStreamRunsGets408AfterIt() async throws {
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let channel = try await Self.connection(gate: gate)
        try await Self.send("GET /stream HTTP/1.1\r\nHost: s\r\n\r\n", to: channel)
        try await Self.send("POST /x HTTP/1.1\r\nHost: s\r\nContent-Le", to: channel)
        open.finish()
        await Self.settle(channel)
        await Self.advance(channel, by: Self.read + .milliseconds(100))
        #expect(try await Self.written(channel).contains("HTTP/1.1 408 Request Timeout"))
        #expect(!channel.isActive)
    }

    @Test func aCompleteRequestPipelinedBehindALongStreamIsAnswered() async throws {
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let channel = try await Self.connection(gate: gate)
        try await Self.send("GET /stream HTTP/1.1\r\nHost: s\r\n\r\n" + Self.get, to: channel)
        await Self.advance(channel, by: Self.read * 3)
        open.finish()
        await Self.settle(channel)
        await Self.advance(channel, by: Self.read * 2)
        let written = try await Self.written(channel)
        #expect(written.contains("{\"ok\":true}"))
        #expect(!written.contains("408"))
        #expect(channel.isActive)
    }

    @Test func anOverLimitBodyAwaitingContinueGets413AtOnce() async throws {
        let channel = try await Self.connection()
        try await Self.send("POST /x HTTP/1.1\r\nHost: s\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n", to: channel)
        let written = try await Self.written(channel)
        #expect(written.hasPrefix("HTTP/1.1 413 Payload Too Large"))
        #expect(!written.contains("100 Continue"))
        #expect(written.contains("Connection: close"))
        #expect(!channel.isActive)
    }

    @Test(arguments: ["9223372036854775808", "18446744073709551615", "99999999999999999999999"])
    func aContentLengthBeyondAnyLimitGets413AtOnce(length: String) async throws {
        let channel = try await Self.connection()
        // llhttp rejects lengths past 2^64 itself (400); every other one is answered 413.
        try? await Self.send("POST /x HTTP/1.1\r\nHost: s\r\nContent-Length: \(length)\r\n\r\nabc", to: channel)
        let written = try await Self.written(channel)
        #expect(written.hasPrefix("HTTP/1.1 413") || written.hasPrefix("HTTP/1.1 400"))
        #expect(!channel.isActive)
    }

    @Test(arguments: ["-1", "abc", "5, 6", "", "+5"])
    func anInvalidContentLengthGets400(length: String) async throws {
        let channel = try await Self.connection()
        try? await Self.send("POST /x HTTP/1.1\r\nHost: s\r\nContent-Length: \(length)\r\n\r\nabcde", to: channel)
        #expect(try await Self.written(channel).hasPrefix("HTTP/1.1 400 Bad Request"))
        #expect(!channel.isActive)
    }

    /// Found by the second red-team pass: refused connections that sent nothing were each held
    /// for the whole request read timeout (8,000 of them: 8,020 open files).
    @Test func aRefusedConnectionThatSendsNothingIsClosedWithinASecond() async throws {
        let channel = NIOAsyncTestingChannel()
        try await channel.pipeline.addHandler(ConnectionRefusalHandler())
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1))
        await channel.testingEventLoop.advanceTime(by: ConnectionRefusalHandler.waitForFirstBytes - .milliseconds(1))
        #expect(channel.isActive)
        await channel.testingEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    @Test func declaredLengthsAreValidated() {
        func length(_ values: [String]) -> DeclaredLength? {
            DeclaredLength(HTTPHeaders(values.map { ("Content-Length", $0) }))
        }
        #expect(length([]) == DeclaredLength(HTTPHeaders()))
        #expect(length([])?.bytes == nil)
        #expect(length(["0"])?.bytes == 0)
        #expect(length(["12", "12"])?.bytes == 12)
        #expect(length(["12, 12"])?.bytes == 12)
        #expect(length(["9223372036854775808"])?.bytes == Int.max)
        #expect(length(["00000000000000000000042"])?.bytes == 42)
        #expect(length(["12", "13"]) == nil)
        #expect(length(["-1"]) == nil)
        #expect(length(["1e3"]) == nil)
    }

    @Test func bodiesBeyondTheBufferBudgetGet503() async throws {
        let pool = CapacityPool()
        let holder = pool.claim(60, limit: 100)
        let channel = try await Self.connection(budget: (pool, 100))
        try await Self.send("POST /x HTTP/1.1\r\nHost: s\r\nContent-Length: 50\r\n\r\n" + String(repeating: "a", count: 50), to: channel)
        let written = try await Self.written(channel)
        #expect(written.hasPrefix("HTTP/1.1 503"))
        #expect(written.contains("buffer_budget_exhausted"))
        #expect(pool.inUse == 60)
        holder?.release()
        try await Self.send("POST /x HTTP/1.1\r\nHost: s\r\nContent-Length: 50\r\n\r\n" + String(repeating: "a", count: 50), to: channel)
        #expect(try await Self.written(channel).hasPrefix("HTTP/1.1 200"))
        #expect(pool.inUse == 0)
    }
}

@Suite struct CapacityPoolTests {
    @Test func aBurstGetsExactlyTheLimit() async {
        let pool = CapacityPool()
        let claims = await withTaskGroup(of: CapacityClaim?.self) { group in
            for _ in 0..<60 { group.addTask { pool.claim(limit: 5) } }
            var claims: [CapacityClaim?] = []
            for await claim in group { claims.append(claim) }
            return claims
        }
        #expect(claims.compactMap { $0 }.count == 5)
        #expect(pool.inUse == 5)
        for claim in claims {
            claim?.release()
            claim?.release()
        }
        #expect(pool.inUse == 0)
    }

    @Test func aClaimIsGivenBackOnceWhenDropped() {
        let pool = CapacityPool()
        do {
            let claim = pool.emptyClaim()
            #expect(claim.grow(by: 70, limit: 100))
            #expect(!claim.grow(by: 31, limit: 100))
            #expect(claim.grow(by: 30, limit: 100))
            #expect(pool.inUse == 100)
        }
        #expect(pool.inUse == 0)
        let released = pool.claim(10, limit: 100)
        released?.release()
        #expect(released?.grow(by: 1, limit: 100) == false)
        #expect(pool.inUse == 0)
    }
}
