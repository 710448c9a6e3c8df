// OpenSSL's libcrypto and libssl, which libcurl already loads: SHA-256 for configuration
// fingerprints, client-token hashes and the audit hash chain, constant-time comparison, random
// bytes, and TLS to the fleet store (Sources/Sidecar/Store/Redis/TLSClientHandler.swift).
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

// What OpenSSL offers as macros, which Swift cannot call.

static inline int sidecar_SSL_CTX_set_min_proto_version(SSL_CTX *context, int version) {
    return (int)SSL_CTX_set_min_proto_version(context, version);
}

static inline int sidecar_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline int sidecar_SSL_CTX_disable_renegotiation(SSL_CTX *context) {
    return SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION) != 0;
}
