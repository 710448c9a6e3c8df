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
