// OpenSSL's libcrypto, which libcurl already loads: SHA-256 for configuration fingerprints,
// client-token hashes and the audit hash chain, constant-time comparison, and random bytes.
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
