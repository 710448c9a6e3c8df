//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CCurl
import SidecarModel

/// A failed libcurl transfer: the `CURLcode` and curl's own explanation.
struct CurlError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The raw `CURLcode` value.
    var code: UInt32
    /// curl's detailed message (from `CURLOPT_ERRORBUFFER`), or its generic one.
    var message: String

    var description: String { "curl error \(self.code): \(self.message)" }

    /// The client-facing error: unreachable (DNS, connect, TLS, proxy) → 502, timeout → 504,
    /// an answer libcurl cannot read → 502 `upstream_malformed_response`, a broken exchange → 502.
    var proxyError: ProxyError {
        switch CURLcode(rawValue: self.code) {
        case CURLE_OPERATION_TIMEDOUT:
            ProxyError(.upstreamTimeout, "The provider did not answer in time (\(self.message)).")
        case CURLE_OUT_OF_MEMORY, CURLcode(rawValue: 100):
            // libcurl reports a response header line over its 100 KB limit as "Out of memory"
            // (CURLE_OUT_OF_MEMORY before 8.6, CURLE_TOO_LARGE = 100 since); its own allocations
            // are small, so that is what this code means here.
            ProxyError(
                .upstreamMalformed,
                "The provider's response headers could not be read: a header exceeds the 100 KB libcurl accepts (curl error \(self.code))."
            )
        case CURLE_WEIRD_SERVER_REPLY, CURLE_BAD_CONTENT_ENCODING:
            ProxyError(.upstreamMalformed, "The provider's response is not valid HTTP (\(self.message)).")
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT, CURLE_SSL_CONNECT_ERROR,
            CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE, CURLE_UNSUPPORTED_PROTOCOL,
            CURLE_URL_MALFORMAT:
            ProxyError(.upstreamUnreachable, "The provider could not be reached (\(self.message)).")
        default:
            ProxyError(.upstreamConnectionFailed, "The connection to the provider failed (\(self.message)).")
        }
    }
}
