//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import Testing
import Translate

@testable import Sidecar

/// The curl engine against a real HTTP server on loopback.
@Suite struct CurlEngineTests {
    /// Observations the test server makes about its clients.
    final class ServerLog: Sendable {
        let disconnects = Mutex(0)
        let firstChunkSent = Gate()
        let releaseRest = Gate()
    }

    static func router(log: ServerLog) -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/echo") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: JSONObject = [:]
            for field in request.headers { headers[field.name.canonicalName] = .string(field.value) }
            let answer: JSONValue = ["method": .string(request.method.rawValue), "headers": .object(headers), "body": .string(String(buffer: body))]
            return Response(
                status: .created,
                headers: [.contentType: "application/json", .init("X-Test")!: "yes"],
                body: .init(byteBuffer: ByteBuffer(bytes: answer.serialized()))
            )
        }
        router.get("/gated-stream") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/event-stream"],
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "data: first\n\n"))
                    log.firstChunkSent.open()
                    await log.releaseRest.wait()
                    try await writer.write(ByteBuffer(string: "data: second\n\n"))
                    try await writer.finish(nil)
                }
            )
        }
        router.get("/endless") { _, _ -> Response in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    do {
                        while true {
                            try await writer.write(ByteBuffer(string: "data: tick\n\n"))
                            try await Task.sleep(for: .milliseconds(5))
                        }
                    } catch {
                        log.disconnects.withLock { $0 += 1 }
                        throw error
                    }
                }
            )
        }
        router.get("/bytes/:count") { _, context -> Response in
            let count = context.parameters.get("count", as: Int.self) ?? 0
            let block = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 << 10)
            return Response(
                status: .ok,
                body: ResponseBody { writer in
                    var remaining = count
                    while remaining > 0 {
                        let size = min(remaining, block.readableBytes)
                        try await writer.write(block.getSlice(at: 0, length: size)!)
                        remaining -= size
                    }
                    try await writer.finish(nil)
                }
            )
        }
        router.get("/hang") { _, _ -> Response in
            try await Task.sleep(for: .seconds(2))
            return Response(status: .ok)
        }
        router.get("/status/:code") { _, context -> Response in
            let code = context.parameters.get("code", as: Int.self) ?? 500
            return Response(status: .init(code: code), headers: [.retryAfter: "7"], body: .init(byteBuffer: ByteBuffer(string: #"{"error":"x"}"#)))
        }
        return router
    }

    @Test func postCarriesHeadersAndBodyBothWays() async throws {
        try await withServer(Self.router(log: ServerLog())) { port in
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
        try await withServer(Self.router(log: ServerLog())) { port in
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
        try await withServer(Self.router(log: log)) { port in
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
        try await withServer(Self.router(log: ServerLog())) { port in
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
        try await withServer(Self.router(log: log)) { port in
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
        try await withServer(Self.router(log: log)) { port in
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
        try await withServer(Self.router(log: ServerLog())) { port in
            let error = await #expect(throws: ProxyError.self) { try await send("GET", "http://127.0.0.1:\(port)/hang", timeout: .milliseconds(300)) }
            #expect(error?.code == .upstreamTimeout)
            #expect(error?.status == 504)
        }
    }

    @Test func manyConcurrentTransfers() async throws {
        try await withServer(Self.router(log: ServerLog())) { port in
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
}
