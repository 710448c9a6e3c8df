//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SidecarModel

/// The production ``UpstreamClient``: HTTP/1.1 and HTTP/2 over libcurl, through the ``CurlEngine``.
struct CurlUpstreamClient: UpstreamClient {
    let engine: CurlEngine

    func execute(_ request: UpstreamRequest, logger: Logger) async throws(ProxyError) -> UpstreamResponse {
        let transfer = CurlTransfer(request: request, engine: self.engine)
        self.engine.start(transfer)
        let head = try await transfer.waitForHead()
        logger.trace("upstream answered", metadata: ["upstream.status": "\(head.status)"])
        return UpstreamResponse(head: head, body: UpstreamBody(transfer))
    }
}
