//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Glibc
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

/// The curl engine against a real HTTP server on loopback.
@Suite struct CurlEngineTests {
    /// Observations the test server makes about its clients.
    final class ServerLog: Sendable {
        let disconnects = Mutex(0)
        let firstChunkSent = Gate()
        let releaseRest = Gate()
    }

    /// The test server: `/echo`, `/gated-stream`, `/endless`, `/bytes/N`, `/hang`, `/status/N`.
    static func responder(log: ServerLog) -> HTTPRequestHandler.Responder {
        { request in
            switch request.path {
            case "/echo": Self.echo(request)
            case "/gated-stream": Self.gatedStream(log: log)
            case "/endless": Self.endless(log: log)
            case "/hang":
                await Self.hang()
            case let path where path.hasPrefix("/bytes/"): Self.bytes(Int(path.dropFirst("/bytes/".count)) ?? 0)
            case let path where path.hasPrefix("/status/"):
                ServerResponse(
                    status: HTTPResponseStatus(statusCode: Int(path.dropFirst("/status/".count)) ?? 500),
                    headers: ["Retry-After": "7"],
                    body: .bytes(ByteBuffer(string: #"{"error":"x"}"#))
                )
            default: ServerResponse(status: .notFound, body: .bytes(ByteBuffer()))
            }
        }
    }

    static func echo(_ request: ServerRequest) -> ServerResponse {
        var headers: JSONObject = [:]
        for (name, value) in request.headers { headers[name.lowercased()] = .string(value) }
        let answer: JSONValue = [
            "method": .string(request.method.rawValue), "headers": .object(headers), "body": .string(String(buffer: request.body)),
        ]
        return ServerResponse(
            status: .created,
            headers: ["Content-Type": "application/json", "X-Test": "yes"],
            body: .bytes(ByteBuffer(bytes: answer.serialized()))
        )
    }

    static func gatedStream(log: ServerLog) -> ServerResponse {
        ServerResponse(
            status: .ok,
            headers: ["Content-Type": "text/event-stream"],
            body: .stream { writer in
                try? await writer.write(Array("data: first\n\n".utf8))
                log.firstChunkSent.open()
                await log.releaseRest.wait()
                try? await writer.write(Array("data: second\n\n".utf8))
            }
        )
    }

    static func endless(log: ServerLog) -> ServerResponse {
        ServerResponse(
            status: .ok,
            body: .stream { writer in
                do {
                    while true {
                        try await writer.write(Array("data: tick\n\n".utf8))
                        try await Task.sleep(for: .milliseconds(5))
                    }
                } catch {
                    log.disconnects.withLock { $0 += 1 }
                }
            }
        )
    }

    static func bytes(_ count: Int) -> ServerResponse {
        ServerResponse(
            status: .ok,
            body: .stream { writer in
                let block = [UInt8](repeating: UInt8(ascii: "x"), count: 64 << 10)
                var remaining = count
                while remaining > 0 {
                    let size = min(remaining, block.count)
                    guard (try? await writer.write(Array(block[..<size]))) != nil else { return }
                    remaining -= size
                }
            }
        )
    }

    static func hang() async -> ServerResponse {
        try? await Task.sleep(for: .seconds(2))
        return ServerResponse(status: .ok, body: .bytes(ByteBuffer()))
    }

    @Test func postCarriesHeadersAndBodyBothWays() async throws {
        try await withServer(Self.responder(log: ServerLog())) { port in
            let exchange = try await send(
                "POST",
                "http://127.0.0.1:\(port)/echo",
                body: #"{"hello":"世界"}"#,
                headers: [HTTPHeader("Authorization", "Bearer k"), HTTPHeader("Content-Type", "application/json")]
            )
            #expect(exchange.head.status == 201)
            #expect(exchange.head.header("x-test") == "yes")
            #expect(exchange.json["method"] == "POST")
            #expect(exchange.json["body"] == #"{"hello":"世界"}"#)
            #expect(exchange.json["headers"]?["authorization"] == "Bearer k")
            #expect(exchange.json["headers"]?["expect"] == nil)
        }
    }

    @Test func errorStatusesArriveWithHeadersAndBody() async throws {
        try await withServer(Self.responder(log: ServerLog())) { port in
            let exchange = try await send("GET", "http://127.0.0.1:\(port)/status/429")
            #expect(exchange.head.status == 429)
            #expect(exchange.head.header("Retry-After") == "7")
            #expect(exchange.text == #"{"error":"x"}"#)
        }
    }

    /// The first event reaches the client while the server still holds back the rest: the
    /// server only continues once the test has read the first event.
    @Test func streamedBytesArriveAsTheyAreSent() async throws {
        let log = ServerLog()
        try await withServer(Self.responder(log: log)) { port in
            let request = UpstreamRequest(
                method: "GET",
                url: "http://127.0.0.1:\(port)/gated-stream",
                headers: [],
                body: [],
                connectTimeout: .seconds(5),
                timeout: .seconds(20),
                proxy: nil
            )
            let response = try await testClient.execute(request, logger: testLogger)
            var received: [UInt8] = []
            while !received.elementsEqual("data: first\n\n".utf8) {
                received += try #require(try await response.body.next())
            }
            log.releaseRest.open()
            while let more = try await response.body.next() { received += more }
            #expect(String(decoding: received, as: UTF8.self) == "data: first\n\ndata: second\n\n")
        }
    }

    /// A slow reader never has more than the high-water mark (plus one network read) buffered,
    /// and still receives every byte.
    @Test func slowReadersApplyBackPressure() async throws {
        let total = 6 << 20
        try await withServer(Self.responder(log: ServerLog())) { port in
            let request = UpstreamRequest(
                method: "GET",
                url: "http://127.0.0.1:\(port)/bytes/\(total)",
                headers: [],
                body: [],
                connectTimeout: .seconds(5),
                timeout: .seconds(60),
                proxy: nil
            )
            let response = try await testClient.execute(request, logger: testLogger)
            var count = 0
            var largest = 0
            while let piece = try await response.body.next() {
                count += piece.count
                largest = max(largest, piece.count)
                try await Task.sleep(for: .milliseconds(2))
            }
            #expect(count == total)
            #expect(largest <= CurlTransfer.highWaterMark + (64 << 10))
        }
    }

    @Test func cancellingAStreamClosesTheConnection() async throws {
        let log = ServerLog()
        try await withServer(Self.responder(log: log)) { port in
            let request = UpstreamRequest(
                method: "GET",
                url: "http://127.0.0.1:\(port)/endless",
                headers: [],
                body: [],
                connectTimeout: .seconds(5),
                timeout: .seconds(60),
                proxy: nil
            )
            let response = try await testClient.execute(request, logger: testLogger)
            _ = try await response.body.next()
            response.body.cancel()
            await #expect(throws: ProxyError.self) { try await response.body.next() }
            for _ in 0..<500 where log.disconnects.withLock({ $0 }) == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(log.disconnects.withLock { $0 } == 1)
        }
    }

    @Test func droppingAnUnreadBodyCancelsTheTransfer() async throws {
        let log = ServerLog()
        try await withServer(Self.responder(log: log)) { port in
            let request = UpstreamRequest(
                method: "GET",
                url: "http://127.0.0.1:\(port)/endless",
                headers: [],
                body: [],
                connectTimeout: .seconds(5),
                timeout: .seconds(60),
                proxy: nil
            )
            _ = try await testClient.execute(request, logger: testLogger)
            for _ in 0..<500 where log.disconnects.withLock({ $0 }) == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(log.disconnects.withLock { $0 } == 1)
        }
    }

    @Test func refusedConnectionsAreUnreachable() async throws {
        let error = await #expect(throws: ProxyError.self) { try await send("GET", "http://127.0.0.1:1/") }
        #expect(error?.code == .upstreamUnreachable)
        #expect(error?.status == 502)
        #expect(error?.isRetryable == true)
    }

    @Test func silentServersTimeOut() async throws {
        try await withServer(Self.responder(log: ServerLog())) { port in
            let error = await #expect(throws: ProxyError.self) { try await send("GET", "http://127.0.0.1:\(port)/hang", timeout: .milliseconds(300)) }
            #expect(error?.code == .upstreamTimeout)
            #expect(error?.status == 504)
        }
    }

    @Test func manyConcurrentTransfers() async throws {
        try await withServer(Self.responder(log: ServerLog())) { port in
            try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        try await send("POST", "http://127.0.0.1:\(port)/echo", body: "request \(index)").json["body"]?.stringValue ?? ""
                    }
                }
                var bodies: Set<String> = []
                for try await body in group { bodies.insert(body) }
                #expect(bodies == Set((0..<100).map { "request \($0)" }))
            }
        }
    }

    /// The engine keeps an idle pooled connection registered with `epoll` between transfers.
    /// When the server closes it — announced (`Connection: close`, libcurl closes it at once) or
    /// not (it closes while idle) — the next transfer must not stall on a stale registration: the
    /// next connection gets the same descriptor number.
    @Test(arguments: ["Connection: close\r\n", ""])
    func connectionsTheServerClosesAreReplaced(header: String) async throws {
        let listener = try RawSocket.listen()
        defer { close(listener.descriptor) }
        let reply = Array("HTTP/1.1 200 OK\r\n\(header)Content-Length: 2\r\n\r\nok".utf8)
        for _ in 0..<10 {
            RawSocket.answerOnce(listener.descriptor, with: reply)
            let exchange = try await send("GET", "http://127.0.0.1:\(listener.port)/", timeout: .seconds(5))
            #expect(exchange.text == "ok")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Transfers started around a shutdown — running, queued with it, or sent after the engine
    /// exited — all fail with "shutting down"; none is left waiting for an answer.
    @Test func noTransferOutlivesTheEngineUnanswered() async throws {
        let listener = try RawSocket.listen()  // accepts, never answers
        defer { close(listener.descriptor) }
        let engine = CurlEngine(logger: testLogger)
        let request = UpstreamRequest(
            method: "GET",
            url: "http://127.0.0.1:\(listener.port)/",
            headers: [],
            body: [],
            connectTimeout: .seconds(5),
            timeout: .seconds(30),
            proxy: nil
        )
        let stop = Task { await engine.shutdown() }
        let failures = await withTaskGroup(of: ProxyError.Code?.self) { group in
            for index in 0..<60 {
                group.addTask {
                    if index == 30 { await engine.shutdown() }
                    let transfer = CurlTransfer(request: request, engine: engine)
                    engine.start(transfer)
                    // A transfer the engine forgot would wait forever: cancel it after 5 s, so the
                    // test fails (`cancelled`) instead of hanging.
                    let watchdog = Task {
                        try await Task.sleep(for: .seconds(5))
                        transfer.cancel()
                    }
                    defer { watchdog.cancel() }
                    do {
                        _ = try await transfer.waitForHead()
                        return nil
                    } catch {
                        return (error as? ProxyError)?.code
                    }
                }
            }
            return await group.reduce(into: [ProxyError.Code?]()) { $0.append($1) }
        }
        await stop.value
        #expect(failures.count == 60)
        #expect(failures.allSatisfy { $0 == .upstreamConnectionFailed })
    }
}
