//===----------------------------------------------------------------------===//
//
// This source file is part of the LLM Sidecar open source project
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import COpenSSL

/// What every TLS connection to the store (`rediss://`) shares: one OpenSSL `SSL_CTX` — the
/// system's libssl, which libcurl already loads — configured once.
///
/// TLS 1.2 at least (TLS 1.3 when the server offers it), renegotiation refused, and the server's
/// certificate verified (`SSL_VERIFY_PEER`) against `store.ca_file` alone when it is set, else
/// against the system's trust store (`/etc/ssl/certs`, Debian's `ca-certificates`). Each connection
/// also checks that the certificate is for the URL's host (see ``TLSClientHandler``).
///
/// `@unchecked Sendable`: the `SSL_CTX` is only written here, before it is shared; OpenSSL allows
/// `SSL_new` on a configured context from any thread.
final class TLSClientContext: @unchecked Sendable {
    /// The `SSL_CTX *` (unsafe: a C pointer, freed with this object).
    let context: OpaquePointer

    /// - Parameter caFile: a PEM bundle of the certificates to trust instead of the system's.
    /// - Throws: ``TLSFailure`` naming OpenSSL's reason when the bundle cannot be loaded.
    init(caFile: String?) throws(TLSFailure) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw TLSFailure("cannot set up: \(Self.reason())")
        }
        self.context = context
        guard sidecar_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) == 1, sidecar_SSL_CTX_disable_renegotiation(context) == 1 else {
            throw TLSFailure("cannot set up: \(Self.reason())")
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if let caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw TLSFailure("cannot use store.ca_file '\(caFile)': \(Self.reason())")
            }
        } else if SSL_CTX_set_default_verify_paths(context) != 1 {
            throw TLSFailure("cannot load the system's trusted certificates: \(Self.reason())")
        }
    }

    deinit {
        SSL_CTX_free(self.context)
    }

    /// The reason of the oldest error on this thread's OpenSSL error queue ("no certificate or crl
    /// found"), or "unknown error"; the queue is emptied. OpenSSL's reasons hold no data that went
    /// through the connection, so never the store's password.
    static func reason() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0, let reason = ERR_reason_error_string(code) else { return "unknown error" }
        return String(cString: reason)
    }
}
