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
/// answer relayed unchanged but for provider keys (see ``PassthroughRelay``). Without that
/// setting such paths answer 404. Only the methods of a REST API are forwarded
/// (``forwardedMethods``); any other (`TRACE`, which echoes the request with its key; `CONNECT`,
/// which would turn the client's connection into a tunnel; `OPTIONS`) is 405 and never reaches
/// the provider.
struct PassthroughEndpoint: Endpoint {
    let operation = "passthrough"

    /// GET, HEAD, POST, PUT, PATCH, DELETE.
    static let forwardedMethods: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .PATCH, .DELETE]

    func parse(_ request: ServerRequest, body: ByteBuffer, context: inout RequestContext) throws(ProxyError) -> EncodedRequest {
        try Self.forwarded(request)
    }

    func route(_ encoded: EncodedRequest, of original: ServerRequest, context: RequestContext) throws(ProxyError) -> Route<EncodedRequest> {
        .provider(try Self.route(encoded, of: original, context: context))
    }

    /// The request to forward: the path below `/v1` with its query, two headers and the body.
    static func forwarded(_ request: ServerRequest) throws(ProxyError) -> EncodedRequest {
        guard Self.forwardedMethods.contains(request.method) else {
            throw ProxyError(.methodNotAllowed, "The sidecar does not forward \(request.method) \(request.path).")
        }
        try Self.checkNotAnAlias(request.path)
        var headers: [HTTPHeader] = []
        for name in ["Content-Type", "Accept"] {
            if let value = request.header(name) { headers.append(HTTPHeader(name, try Self.forwardable(value, of: name))) }
        }
        return EncodedRequest(
            method: request.method.rawValue,
            path: String(request.path.dropFirst("/v1".count)) + (request.query.map { "?\($0)" } ?? ""),
            headers: headers,
            body: Array(request.body.readableBytesView),
            isStreaming: false
        )
    }

    /// `encoded` to the `passthrough.provider`; 404 without one, 503 when it has no key.
    static func route(_ encoded: EncodedRequest, of original: ServerRequest, context: RequestContext) throws(ProxyError) -> ProviderRoute {
        guard let name = context.snapshot.configuration.passthroughProvider, let provider = context.snapshot.providers[name] else {
            throw ProxyError(.notFound, "The sidecar does not serve \(original.method) \(original.path).")
        }
        if let reason = provider.configuration.unusableReason {
            throw ProxyError(.providerUnavailable, "The passthrough provider is unavailable: \(reason).")
        }
        return ProviderRoute(provider: provider, request: encoded, relay: PassthroughRelay(scrubber: context.snapshot.scrubber))
    }

    /// The endpoints the sidecar serves and meters itself, lower-cased.
    static let meteredPaths = ["/v1/chat/completions", "/v1/embeddings", "/v1/responses", "/v1/messages"]

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
        guard value.utf8.count <= Self.maximumForwardedHeaderBytes, !HeaderValue.holdsControlCharacter(value) else {
            throw ProxyError(
                .invalidRequest,
                "The \(name) header must be at most \(Self.maximumForwardedHeaderBytes) bytes without control characters.",
                param: name
            )
        }
        return value
    }
}
