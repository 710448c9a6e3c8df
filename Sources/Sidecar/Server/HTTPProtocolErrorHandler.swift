//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1
import SidecarModel
import Translate

/// Answers requests the HTTP parser rejects — headers over llhttp's 80 KiB (431), malformed
/// request lines or headers (400) — in the OpenAI envelope, then closes the connection. Like
/// NIO's own protocol-error handler, it answers only when no response is in progress.
final class HTTPProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = Never
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var responseInProgress = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if !self.responseInProgress {
            let proxyError =
                parserError == .headerOverflow
                ? ProxyError(.headersTooLarge, "The request headers exceed 80 KiB.")
                : ProxyError(.invalidRequest, "The request is not valid HTTP/1.1 (\(parserError)).")
            let body = proxyError.openAIBody.json.serialized()
            let head = HTTPResponseHead(
                version: .http1_1,
                status: HTTPResponseStatus(statusCode: proxyError.status),
                headers: ["Content-Type": "application/json", "Content-Length": String(body.count), "Connection": "close"]
            )
            context.write(self.wrapOutboundOut(.head(head)), promise: nil)
            context.write(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch self.unwrapOutboundIn(data) {
        case .head(let head) where head.status != .continue: self.responseInProgress = true
        case .end: self.responseInProgress = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
