//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOPosix

@testable import Sidecar
@testable import SidecarModel

extension FuzzTarget {
    static func yaml(_ input: [UInt8]) {
        let text = String(decoding: input, as: UTF8.self)
        _ = try? SidecarConfiguration.parse(yaml: text, file: "fuzz.yaml", environment: ["FUZZ_KEY": "sk-fuzz"])
    }

    static func resp(_ input: [UInt8]) {
        guard let first = input.first else { return }
        let bytes = input.dropFirst()
        let split = bytes.isEmpty ? 0 : Int(first) % (bytes.count + 1)
        let whole = Self.replies(in: [Array(bytes)])
        let pieces = Self.replies(in: [Array(bytes.prefix(split)), Array(bytes.dropFirst(split))])
        precondition(whole == pieces, "a split changed the replies: \(whole) vs \(pieces)")
    }

    /// The replies a decoder reads from `chunks` arriving one after another, and whether it refused.
    private static func replies(in chunks: [[UInt8]]) -> (replies: [RESPValue], refused: Bool) {
        var decoder = RESPDecoder()
        var replies: [RESPValue] = []
        var buffer = ByteBuffer()
        for chunk in chunks {
            buffer.writeBytes(chunk)
            do {
                while let reply = try decoder.decodeReply(&buffer) { replies.append(reply) }
            } catch {
                return (replies, true)
            }
        }
        return (replies, false)
    }

    /// Every request the bytes hold, answered in order as the server would; streamed answers are
    /// written to a client that has gone away, which ends them as a disconnect does.
    static func http(_ input: [UInt8]) {
        for request in HTTPFuzzing.requests(in: input) {
            let response = try? MultiThreadedEventLoopGroup.singleton.any().makeFutureWithTask {
                let response = await HTTPFuzzing.router.respond(to: request)
                if case .stream(let produce) = response.body { await produce(ResponseStreamWriter(channel: HTTPFuzzing.goneClient)) }
                return response
            }.wait()
            if let response { HTTPFuzzing.checkNoKeyLeaks(response) }
        }
    }
}
