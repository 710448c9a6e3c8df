//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import HTTPTypes
import Hummingbird
import NIOCore
import Translate

/// Forwards `/v1/*` requests the sidecar does not handle itself (stored completions, files,
/// batches, …) to the provider named by `passthrough.provider`, with its key injected and the
/// answer relayed unchanged. Without that setting such paths answer 404.
struct PassthroughProxy: Sendable {
    let context: ProxyContext

    func respond(to request: Request) async -> Response {
        let clock = RequestClock()
        var record = UsageRecord(requestID: ProxyContext.requestID(for: request), api: ProxyContext.API.openAI.rawValue, operation: "passthrough")
        do {
            return try await self.proxy(request, record: &record, clock: clock)
        } catch {
            return self.context.respond(error: error, api: .openAI, record: record, clock: clock)
        }
    }

    private func proxy(_ request: Request, record: inout UsageRecord, clock: RequestClock) async throws(ProxyError) -> Response {
        let snapshot = self.context.store.current
        guard let name = snapshot.configuration.passthroughProvider, let provider = snapshot.providers[name] else {
            throw ProxyError(.notFound, "The sidecar does not serve \(request.method) \(request.uri.path).")
        }
        if let reason = provider.configuration.unusableReason {
            throw ProxyError(.providerUnavailable, "The passthrough provider is unavailable: \(reason).")
        }
        record.provider = provider.name
        let body = try await ProxyContext.collectBody(of: request, limit: snapshot.configuration.server.maxRequestBodyBytes)
        let path = String(request.uri.path.dropFirst("/v1".count)) + (request.uri.query.map { "?\($0)" } ?? "")
        var headers: [HTTPHeader] = []
        if let contentType = request.headers[.contentType] { headers.append(HTTPHeader("Content-Type", contentType)) }
        if let accept = request.headers[.accept] { headers.append(HTTPHeader("Accept", accept)) }
        let encoded = EncodedRequest(
            method: request.method.rawValue,
            path: path,
            headers: headers,
            body: Array(body.readableBytesView),
            isStreaming: false
        )
        record.attempts = 1
        let exchange = try await provider.client.execute(provider.upstreamRequest(for: encoded), logger: self.context.logger)
        var responseHeaders = ProxyContext.headers(
            requestID: record.requestID,
            contentType: exchange.head.header("content-type") ?? "application/json"
        )
        if let retryAfter = exchange.head.header("retry-after") { responseHeaders[.retryAfter] = retryAfter }
        record.status = exchange.head.status
        if exchange.head.status >= 400 { record.outcome = .upstreamError }
        let finished = record
        let usage = self.context.usage
        return Response(
            status: HTTPResponse.Status(code: exchange.head.status),
            headers: responseHeaders,
            body: ResponseBody { writer in
                var record = finished
                do {
                    while let bytes = try await exchange.body.next() {
                        try await writer.write(ByteBuffer(bytes: bytes))
                    }
                    try await writer.finish(nil)
                } catch let error as ProxyError {
                    record.outcome = .streamError
                    record.errorType = error.shortDescription
                } catch {
                    exchange.body.cancel()
                    record.outcome = .clientDisconnected
                }
                record.latencyMilliseconds = clock.elapsedMilliseconds
                usage.record(record)
            }
        )
    }
}
