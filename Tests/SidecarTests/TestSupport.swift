//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing
import Translate

@testable import Sidecar
@testable import SidecarModel

/// One curl engine for the whole test process, as in the sidecar.
let testEngine = CurlEngine(logger: Logger(label: "test.curl"))
let testClient = CurlUpstreamClient(engine: testEngine)
let testLogger = Logger(label: "test")

/// Runs `responder` as an HTTP server on a free loopback port for the duration of `body`.
func withServer<Result: Sendable>(
    maximumBodyBytes: Int = 1 << 20,
    _ responder: @escaping HTTPRequestHandler.Responder,
    _ body: @Sendable (_ port: Int) async throws -> Result
) async throws -> Result {
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    let server = HTTPServer(
        configuration: HTTPServer.Configuration(host: "127.0.0.1", port: 0, maximumBodyBytes: { maximumBodyBytes }),
        logger: Logger(label: "test.server"),
        onListening: { address in portContinuation.yield(address.port ?? 0) },
        responder: responder
    )
    let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [server], logger: Logger(label: "test.group")))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        do {
            let result = try await body(port)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
    }
}

/// A request through the curl engine, with the whole answer.
struct HTTPExchange: Sendable {
    var head: UpstreamResponseHead
    var body: [UInt8]

    var json: JSONValue { (try? JSONValue.parse(self.body)) ?? .null }
    var text: String { String(decoding: self.body, as: UTF8.self) }
}

func send(
    _ method: String,
    _ url: String,
    body: String = "",
    headers: [HTTPHeader] = [],
    timeout: Duration = .seconds(20)
) async throws(ProxyError) -> HTTPExchange {
    let request = UpstreamRequest(
        method: method,
        url: url,
        headers: headers,
        body: Array(body.utf8),
        connectTimeout: .seconds(5),
        timeout: timeout,
        proxy: nil
    )
    let response = try await testClient.execute(request, logger: testLogger)
    return HTTPExchange(head: response.head, body: try await response.body.collect(upTo: 64 << 20))
}

/// Records usage lines in memory.
final class RecordingUsageSink: UsageSink {
    private let records = Mutex<[UsageRecord]>([])

    func record(_ record: UsageRecord) {
        self.records.withLock { $0.append(record) }
    }

    var all: [UsageRecord] { self.records.withLock { $0 } }

    /// Waits (up to 5 s) until `count` records arrived; usage lines are written after the body.
    func waitFor(count: Int) async throws -> [UsageRecord] {
        for _ in 0..<500 {
            let records = self.all
            if records.count >= count { return records }
            try await Task.sleep(for: .milliseconds(10))
        }
        return self.all
    }
}

/// Collects written lines (audit lines) in memory.
final class LineRecorder: Sendable {
    private let recorded = Mutex<[[UInt8]]>([])

    func write(_ line: [UInt8]) {
        self.recorded.withLock { $0.append(line) }
    }

    var lines: [[UInt8]] { self.recorded.withLock { $0 } }

    /// The lines parsed as JSON.
    var objects: [JSONValue] { self.lines.compactMap { try? JSONValue.parse($0) } }
}

/// A one-shot signal a test opens to let a server handler continue.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = self.state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = self.state.withLock { state in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if isOpen { continuation.resume() }
        }
    }
}
