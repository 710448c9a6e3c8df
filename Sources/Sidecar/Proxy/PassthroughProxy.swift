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

/// Forwards `/v1/*` requests the sidecar does not handle itself (stored completions, files,
/// batches, …) to the provider named by `passthrough.provider`, with its key injected and the
/// answer relayed unchanged but for provider keys: an error answer (status ≥ 400) is read whole
/// (up to ``ChatProxy/maximumErrorBytes``, 64 KiB; the rest is dropped) and scrubbed like any
/// provider error, a successful one is scrubbed of configured keys as it streams, and so are
/// the headers passed on (`Content-Type`, `Retry-After`). Without that setting such paths
/// answer 404. Only the methods of a REST API are forwarded (``forwardedMethods``); any other
/// (`TRACE`, which echoes the request with its key; `CONNECT`, which would turn the client's
/// connection into a tunnel; `OPTIONS`) is 405 and never reaches the provider.
struct PassthroughProxy: Sendable {
    let context: ProxyContext

    /// GET, HEAD, POST, PUT, PATCH, DELETE.
    static let forwardedMethods: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .PATCH, .DELETE]

    func respond(to request: ServerRequest) async -> ServerResponse {
        let clock = RequestClock()
        var record = UsageRecord(requestID: ProxyContext.requestID(for: request), api: ProxyContext.API.openAI.rawValue, operation: "passthrough")
        do {
            return try await self.proxy(request, record: &record, clock: clock)
        } catch {
            return self.context.respond(error: error, api: .openAI, record: record, clock: clock)
        }
    }

    private func proxy(_ request: ServerRequest, record: inout UsageRecord, clock: RequestClock) async throws(ProxyError) -> ServerResponse {
        let snapshot = self.context.store.current
        let client = try self.context.authenticate(request, snapshot: snapshot, record: &record)
        guard Self.forwardedMethods.contains(request.method) else {
            throw ProxyError(.methodNotAllowed, "The sidecar does not forward \(request.method) \(request.path).")
        }
        try Self.checkNotAnAlias(request.path)
        guard client.settings?.allowsEveryModel ?? true else {
            self.context.audit.record("access_denied", ["client": .string(client.name), "path": .string(request.path)])
            throw ProxyError(.notAllowed, "Client '\(client.name)' is limited to some models, so it may not use \(request.path).")
        }
        guard let name = snapshot.configuration.passthroughProvider, let provider = snapshot.providers[name] else {
            throw ProxyError(.notFound, "The sidecar does not serve \(request.method) \(request.path).")
        }
        if let reason = provider.configuration.unusableReason {
            throw ProxyError(.providerUnavailable, "The passthrough provider is unavailable: \(reason).")
        }
        record.provider = provider.name
        let body = try self.context.body(of: request)
        var headers: [HTTPHeader] = []
        for name in ["Content-Type", "Accept"] {
            if let value = request.header(name) { headers.append(HTTPHeader(name, try Self.forwardable(value, of: name))) }
        }
        try Preflight(context: self.context, snapshot: snapshot).admitUnpriced(record: &record)
        let path = String(request.path.dropFirst("/v1".count)) + (request.query.map { "?\($0)" } ?? "")
        let encoded = EncodedRequest(
            method: request.method.rawValue,
            path: path,
            headers: headers,
            body: Array(body.readableBytesView),
            isStreaming: false
        )
        record.attempts = 1
        let exchange = try await provider.client.execute(provider.upstreamRequest(for: encoded), logger: self.context.logger)
        let scrubber = self.context.store.current.scrubber
        var responseHeaders = ProxyContext.headers(
            requestID: record.requestID,
            contentType: scrubber.scrub(exchange.head.header("content-type") ?? "application/json")
        )
        if let retryAfter = exchange.head.header("retry-after") { responseHeaders.add(name: "Retry-After", value: scrubber.scrub(retryAfter)) }
        record.status = exchange.head.status
        let status = HTTPResponseStatus(statusCode: exchange.head.status)
        if exchange.head.status >= 400 {
            record.outcome = .upstreamError
            let body = scrubber.scrub(try await Self.errorBody(of: exchange.body), mode: .error)
            return self.context.respond(status: status, headers: responseHeaders, bytes: body, record: record, clock: clock)
        }
        let started = record
        let usage = self.context.usage
        return ServerResponse(
            status: status,
            headers: responseHeaders,
            body: .stream { writer in
                var record = started
                var scrubbing = SecretScrubber.Stream(scrubber)
                do {
                    while let bytes = try await exchange.body.next() {
                        let clean = scrubbing.feed(bytes)
                        if !clean.isEmpty { try await writer.write(clean) }
                    }
                    let rest = scrubbing.finish()
                    if !rest.isEmpty { try await writer.write(rest) }
                } catch let error as ProxyError where error.code != .cancelled {
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

    /// The endpoints the sidecar serves and meters itself, lower-cased.
    static let meteredPaths = ["/v1/chat/completions", "/v1/embeddings"]

    /// Refuses a path that a provider could read as one of ``meteredPaths`` although the router
    /// did not: another letter case (`/v1/Chat/Completions`, for case-insensitive servers), a
    /// `;` parameter (`/v1/chat/completions;x`, dropped by Servlet-style servers) or an escaped
    /// `/` (`/v1/chat%2Fcompletions`, decoded before routing by Starlette or Go servers).
    /// Forwarded, such a request would generate tokens the quotas never see. 400 `invalid_request`.
    static func checkNotAnAlias(_ path: String) throws(ProxyError) {
        let read = path.lowercased().replacing("%2f", with: "/")
        let isAlias = read != path && Self.meteredPaths.contains { read.hasPrefix($0) }
        guard !path.contains(";"), !isAlias else {
            throw ProxyError(
                .invalidRequest,
                "Passthrough forwards no ';' parameters and no other spelling of \(Self.meteredPaths.joined(separator: " or "))."
            )
        }
    }

    /// The longest `Content-Type` or `Accept` value forwarded (1,024 bytes; a multipart
    /// boundary needs about 70).
    static let maximumForwardedHeaderBytes = 1024

    /// `value` when it is short enough and printable; 400 naming the header otherwise.
    private static func forwardable(_ value: String, of name: String) throws(ProxyError) -> String {
        guard value.utf8.count <= Self.maximumForwardedHeaderBytes, !HTTPHeaders.holdsControlCharacter(value) else {
            throw ProxyError(
                .invalidRequest,
                "The \(name) header must be at most \(Self.maximumForwardedHeaderBytes) bytes without control characters.",
                param: name
            )
        }
        return value
    }

    /// The first ``ChatProxy/maximumErrorBytes`` of a provider's error answer; the transfer is
    /// stopped there.
    private static func errorBody(of body: UpstreamBody) async throws(ProxyError) -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < ChatProxy.maximumErrorBytes, let piece = try await body.next() { bytes += piece }
        guard bytes.count >= ChatProxy.maximumErrorBytes else { return bytes }
        body.cancel()
        return Array(bytes.prefix(ChatProxy.maximumErrorBytes))
    }
}
