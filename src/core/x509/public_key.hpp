// The key_type, key_bits and curve of a certificate summary, read without an EVP_PKEY.
//
// Building an EVP_PKEY is most of what parsing a certificate costs in OpenSSL 3.0 (a key
// decoder context per certificate), so summaries parse certificates with the key left
// undecoded (ossl::parse_der_keyless) and read the SubjectPublicKeyInfo here instead:
// RSA, RSA-PSS without parameters, EC on a named curve, Ed25519 and Ed448, which covers
// every key a PIV card holds. For those the answer is the one OpenSSL's own decoders give, checks
// included (an EC point must lie on its curve). Any other key, or any key the fast reading
// does not accept, is decoded by OpenSSL after all, so the summary never differs from what
// `openssl x509 -text` reports. Internal to the x509 unit.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <span>

#include "core/x509/certificate.hpp"

namespace cac {

// Fills out.key_type, out.key_bits and out.curve from `cert`, which was parsed from
// `der`; `der` is parsed again, with key decoding, only for the unusual keys.
void read_public_key(const X509* cert, std::span<const std::uint8_t> der, CertificateSummary& out);

}  // namespace cac
