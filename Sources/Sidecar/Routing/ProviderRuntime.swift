//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import SidecarModel
import Translate

/// A configured provider ready to serve: its dialect, its transport, and its key.
struct ProviderRuntime: Sendable {
    let configuration: ProviderConfiguration
    let dialect: any Dialect
    let client: any UpstreamClient
    /// The configured defaults for timeouts the provider does not override.
    let resilience: ResilienceSettings
    /// Hands out the provider's keys in turn.
    let keys: KeyRing
    /// Knows every provider's keys (the snapshot's scrubber).
    let scrubber: SecretScrubber

    var name: String { self.configuration.name }

    /// Addresses `encoded` to this provider and injects its key. Only the configured base URL
    /// and key are ever used: nothing in a client's request can redirect a key elsewhere.
    func upstreamRequest(for encoded: EncodedRequest) -> UpstreamRequest {
        var headers = encoded.headers
        headers.append(contentsOf: self.configuration.headers)
        if let key = self.keys.next() {
            headers.append(contentsOf: self.dialect.authenticationHeaders(apiKey: key.value))
        }
        return UpstreamRequest(
            method: encoded.method,
            url: self.configuration.baseURL + encoded.path,
            headers: headers,
            body: encoded.body,
            connectTimeout: self.configuration.connectTimeout,
            timeout: self.configuration.timeout,
            firstByteTimeout: self.configuration.firstByteTimeout ?? self.resilience.firstByteTimeout,
            idleTimeout: self.configuration.idleTimeout ?? self.resilience.idleTimeout,
            proxy: self.configuration.proxy,
            caFile: self.configuration.caFile
        )
    }

    /// The client error for a provider's error answer (or error event), every field scrubbed.
    func proxyError(_ failure: UpstreamFailure, retryAfter: Duration? = nil) -> ProxyError {
        self.scrubber.scrub(ProxyError(upstream: failure, provider: self.name, retryAfter: retryAfter))
    }

    /// The client error for a provider's error answer.
    func proxyError(status: Int, body: [UInt8], head: UpstreamResponseHead) -> ProxyError {
        self.proxyError(self.dialect.decodeError(status: status, body: body), retryAfter: Self.retryAfter(in: head))
    }

    /// The wait a provider asks for: OpenAI's `retry-after-ms`, else `retry-after` in seconds
    /// (HTTP dates are not used by LLM providers), capped at a day.
    static func retryAfter(in head: UpstreamResponseHead) -> Duration? {
        let milliseconds =
            head.header("retry-after-ms").flatMap { Double($0.trimmed) }
            ?? head.header("retry-after").flatMap { Double($0.trimmed) }.map { $0 * 1000 }
        guard let milliseconds, milliseconds >= 0 else { return nil }
        return .milliseconds(Int64(min(milliseconds, 86_400_000).rounded(.up)))
    }
}
