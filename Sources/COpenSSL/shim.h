#ifndef PORTHOLE_COPENSSL_SHIM_H
#define PORTHOLE_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

// OpenSSL exposes these as macros; Swift imports static inline functions, not macros.
// Every shim is prefixed porthole_ so it can never clash with an OpenSSL symbol.

static inline long porthole_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}

static inline long porthole_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_max_proto_version(ctx, version);
}

static inline long porthole_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline uint64_t porthole_SSL_CTX_set_options(SSL_CTX *ctx, uint64_t options) {
    return SSL_CTX_set_options(ctx, options);
}

static inline long porthole_SSL_CTX_set_tlsext_servername_callback(SSL_CTX *ctx, int (*cb)(SSL *, int *, void *)) {
    return SSL_CTX_set_tlsext_servername_callback(ctx, cb);
}

static inline long porthole_SSL_CTX_set_tlsext_servername_arg(SSL_CTX *ctx, void *arg) {
    return SSL_CTX_set_tlsext_servername_arg(ctx, arg);
}

static inline size_t porthole_BIO_pending(BIO *bio) {
    return (size_t)BIO_pending(bio);
}

static inline long porthole_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}

static inline long porthole_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return SSL_CTX_set1_groups_list(ctx, list);
}

static inline const int porthole_TLS1_2_VERSION(void) { return TLS1_2_VERSION; }
static inline const int porthole_TLS1_3_VERSION(void) { return TLS1_3_VERSION; }
static inline const long porthole_SSL_MODE_RELEASE_BUFFERS(void) { return SSL_MODE_RELEASE_BUFFERS; }
static inline const uint64_t porthole_SSL_OP_NO_COMPRESSION(void) { return SSL_OP_NO_COMPRESSION; }
static inline const uint64_t porthole_SSL_OP_NO_RENEGOTIATION(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline const uint64_t porthole_SSL_OP_CIPHER_SERVER_PREFERENCE(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }

// --- PortholeTLS: custom BIO, certificate names, development certificates ---

// A BIO with no data for OpenSSL must say "retry" so SSL_get_error reports WANT_READ, not EOF.
static inline void porthole_BIO_set_retry_read(BIO *bio) { BIO_set_retry_read(bio); }
static inline void porthole_BIO_clear_retry_flags(BIO *bio) { BIO_clear_retry_flags(bio); }

// EVP_EC_gen is a macro around the variadic EVP_PKEY_Q_keygen, which Swift cannot call.
static inline EVP_PKEY *porthole_EVP_EC_gen(const char *curve) { return EVP_EC_gen(curve); }

// Subject alternative names: the stack accessors are macros, and GENERAL_NAME is a tagged union.
static inline GENERAL_NAMES *porthole_X509_get_subject_alt_names(const X509 *cert) {
    return (GENERAL_NAMES *)X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
}
static inline int porthole_GENERAL_NAMES_count(const GENERAL_NAMES *names) {
    return sk_GENERAL_NAME_num(names);
}
// The DNS name at index, or NULL when that entry is not a dNSName (IP address, email, ...).
static inline const unsigned char *porthole_GENERAL_NAMES_dns_at(const GENERAL_NAMES *names, int index, int *length) {
    const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, index);
    if (name == NULL || name->type != GEN_DNS) { return NULL; }
    *length = ASN1_STRING_length(name->d.dNSName);
    return ASN1_STRING_get0_data(name->d.dNSName);
}
static inline void porthole_GENERAL_NAMES_free(GENERAL_NAMES *names) { GENERAL_NAMES_free(names); }

// SHA-256 states that can be copied like any struct: HMACSHA256.Key absorbs a secret's pads once and
// starts every MAC from a copy, with no allocation. OpenSSL 3 deprecates these functions in favour of
// EVP, whose contexts can only be duplicated by allocating (and its one-shot HMAC() fetches the
// algorithm on every call: 17 allocations and 1.6 us per session cookie, Benchmarks/MICRO.md).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static inline void porthole_SHA256_Init(SHA256_CTX *c) { SHA256_Init(c); }
static inline void porthole_SHA256_Update(SHA256_CTX *c, const void *data, size_t length) { SHA256_Update(c, data, length); }
static inline void porthole_SHA256_Final(unsigned char *digest, SHA256_CTX *c) { SHA256_Final(digest, c); }
#pragma GCC diagnostic pop

static inline const int porthole_MBSTRING_ASC(void) { return MBSTRING_ASC; }

#endif
