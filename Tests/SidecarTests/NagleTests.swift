//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing
import Translate

@testable import Sidecar

#if canImport(Glibc)
import Glibc
#endif

/// Nagle's algorithm holds small writes back until the previous segment is acknowledged, which
/// with delayed acknowledgements stalls a stream of small SSE events by 40 ms each. Both sockets
/// of a request — the client connection the server accepted and libcurl's connection — must
/// have TCP_NODELAY. Checked on the live sockets of this process while a request is open.
@Suite struct NagleTests {
    @Test func bothSidesOfAConnectionDisableNagle() async throws {
        let gate = Gate()
        let responder: HTTPRequestHandler.Responder = { _ in
            await gate.wait()
            return .json(["ok": true])
        }
        try await withServer(responder) { port in
            let request = Task { try await send("GET", "http://127.0.0.1:\(port)/") }
            var sockets: [(server: Bool, nodelay: Int32)] = []
            for _ in 0..<200 where sockets.count < 2 {
                try await Task.sleep(for: .milliseconds(10))
                sockets = Self.tcpSockets(port: port)
            }
            gate.open()
            _ = try await request.value
            #expect(sockets.contains { $0.server && $0.nodelay == 1 }, "the accepted connection has TCP_NODELAY")
            #expect(sockets.contains { !$0.server && $0.nodelay == 1 }, "libcurl's connection has TCP_NODELAY")
            #expect(!sockets.contains { $0.nodelay == 0 })
        }
    }

    /// This process's connected TCP sockets with `port` at one end: whether it is the server's
    /// end (local port) or the client's (peer port), and its TCP_NODELAY.
    static func tcpSockets(port: Int) -> [(server: Bool, nodelay: Int32)] {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).map { $0.compactMap { Int32($0) } } ?? []
        return descriptors.compactMap { descriptor in
            guard let local = Self.port(descriptor, peer: false), let peer = Self.port(descriptor, peer: true), local == port || peer == port
            else { return nil }
            var value: Int32 = -1
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &value, &length) == 0 else { return nil }
            return (local == port, value)
        }
    }

    private static func port(_ descriptor: Int32, peer: Bool) -> Int? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let status = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                peer ? getpeername(descriptor, $0, &length) : getsockname(descriptor, $0, &length)
            }
        }
        guard status == 0, address.sin_family == sa_family_t(AF_INET) else { return nil }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
