//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import FoundationEssentials
import Translate

/// A configured provider ready to serve: its dialect, its transport, and its key.
struct ProviderRuntime: Sendable {
    let configuration: ProviderConfiguration
    let dialect: any Dialect
    let client: any UpstreamClient

    var name: String { self.configuration.name }

    /// Addresses `encoded` to this provider and injects its key. Only the configured base URL
    /// and key are ever used: nothing in a client's request can redirect a key elsewhere.
    func upstreamRequest(for encoded: EncodedRequest) -> UpstreamRequest {
        var headers = encoded.headers
        headers.append(contentsOf: self.configuration.headers)
        if let key = self.configuration.apiKey {
            headers.append(contentsOf: self.dialect.authenticationHeaders(apiKey: key.value))
        }
        return UpstreamRequest(
            method: encoded.method,
            url: self.configuration.baseURL + encoded.path,
            headers: headers,
            body: encoded.body,
            connectTimeout: self.configuration.connectTimeout,
            timeout: self.configuration.timeout,
            proxy: self.configuration.proxy
        )
    }

    /// `text` with this provider's key replaced, for provider messages passed on to clients.
    func scrubbed(_ text: String) -> String {
        guard let key = self.configuration.apiKey?.value, text.contains(key) else { return text }
        return text.replacing(key, with: "[redacted]")
    }

    /// The client error for a provider's error answer.
    func proxyError(status: Int, body: [UInt8], head: UpstreamResponseHead) -> ProxyError {
        var failure = self.dialect.decodeError(status: status, body: body)
        failure.message = self.scrubbed(failure.message)
        return ProxyError(upstream: failure, provider: self.name, retryAfter: Self.retryAfter(in: head))
    }

    /// `Retry-After` in whole seconds, from `retry-after` or OpenAI's `retry-after-ms`.
    static func retryAfter(in head: UpstreamResponseHead) -> String? {
        if let value = head.header("retry-after") { return value }
        guard let milliseconds = head.header("retry-after-ms").flatMap(Double.init) else { return nil }
        return String(Int((milliseconds / 1000).rounded(.up)))
    }
}
