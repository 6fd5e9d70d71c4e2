// Ownership of OpenSSL objects, and OpenSSL's own words for a failure.
//
// Every OpenSSL object the x509 unit creates lives in one of these unique_ptr types, so
// nothing is freed by hand and an exception on any path releases what was made so far.
// This header is internal to the unit: nothing outside src/core/x509 needs OpenSSL.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/util/hex.hpp"

namespace cac::ossl {

template <typename T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const noexcept { Free(p); }
};

template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Deleter<T, Free>>;

inline void free_bio(BIO* bio) {
    BIO_free_all(bio);
}
inline void free_openssl_string(char* text) {
    OPENSSL_free(text);
}
inline void free_openssl_bytes(unsigned char* bytes) {
    OPENSSL_free(bytes);
}
inline void free_x509_stack(STACK_OF(X509) * stack) {
    sk_X509_pop_free(stack, X509_free);
}
inline void free_object_stack(STACK_OF(ASN1_OBJECT) * stack) {
    sk_ASN1_OBJECT_pop_free(stack, ASN1_OBJECT_free);
}

using X509Ptr = Owned<X509, X509_free>;
using X509StackPtr = Owned<STACK_OF(X509), free_x509_stack>;
using StorePtr = Owned<X509_STORE, X509_STORE_free>;
using StoreCtxPtr = Owned<X509_STORE_CTX, X509_STORE_CTX_free>;
using BioPtr = Owned<BIO, free_bio>;
using BignumPtr = Owned<BIGNUM, BN_free>;
using OpenSslString = Owned<char, free_openssl_string>;
using OpenSslBytes = Owned<unsigned char, free_openssl_bytes>;
using BitStringPtr = Owned<ASN1_BIT_STRING, ASN1_BIT_STRING_free>;
using ObjectStackPtr = Owned<STACK_OF(ASN1_OBJECT), free_object_stack>;
using BasicConstraintsPtr = Owned<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using Pkcs7Ptr = Owned<PKCS7, PKCS7_free>;

// An empty X509 stack, or std::bad_alloc.
X509StackPtr new_x509_stack();

// A read-only memory BIO over bytes that must outlive it.
BioPtr memory_bio(std::span<const std::uint8_t> bytes);
// Everything written to a memory BIO so far.
std::string bio_text(BIO* bio);

// The oldest error on this thread's OpenSSL error queue, which names the cause most
// precisely ("asn1 encoding routines: wrong tag"); `fallback` when the queue is empty.
// The queue is emptied either way.
std::string take_error(std::string_view fallback);

// Parses exactly one DER certificate covering all of `der`; nullptr otherwise (the
// reason stays on the error queue, or there is none for trailing bytes).
X509Ptr parse_der(std::span<const std::uint8_t> der, bool* trailing = nullptr);

// The same parse, but the certificate's public key is left undecoded:
// X509_get0_pubkey() returns nullptr, and nothing that needs the key (X509_verify,
// X509_digest, chain checks) works on the result. Everything else reads as usual, through
// X509_get_X509_PUBKEY for the key's algorithm and bits. It costs about a tenth of
// parse_der, which in OpenSSL 3.0 builds a key decoder context for every certificate.
X509Ptr parse_der_keyless(std::span<const std::uint8_t> der, bool* trailing = nullptr);

// SHA-256, fetched from the default library context once per process; nullptr when the
// default provider offers none.
const EVP_MD* sha256();

// The DER encoding of a parsed certificate.
Bytes encode_der(X509* cert);

// The dotted form of an OID ("2.16.840.1.101.3.6.8"); "unknown" if it has none.
std::string oid_text(const ASN1_OBJECT* object);

// RFC 2253 text of a name in UTF-8, as `openssl x509 -nameopt RFC2253,-esc_msb` prints it.
std::string name_text(const X509_NAME* name);

}  // namespace cac::ossl
