// Checking a signature a token made against the certificate it is meant to belong to.
//
// A token signs what it is handed; what it is handed depends on the mechanism. With
// CKM_SHA256_RSA_PKCS it hashes the data itself; with CKM_RSA_PKCS it pads whatever bytes
// it gets, so the caller hands it the DER DigestInfo of the hash (RFC 8017, 9.2); with
// CKM_ECDSA it signs a hash it is given, and returns r and s side by side, each as long
// as the curve's order (PKCS#11 v2.40 curr. mech., 2.3.1), where OpenSSL and X.509 expect
// the DER ECDSA-Sig-Value (RFC 3279, 2.2.3). Either way the result is an ordinary
// SHA-256 signature of the data, checked here with the certificate's public key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/util/hex.hpp"

namespace cac {

// `size` bytes from OpenSSL's random generator; throws CoreCode::internal when it fails.
[[nodiscard]] Bytes random_bytes(std::size_t size);

// SHA-256 of `data`.
[[nodiscard]] Bytes sha256_digest(std::span<const std::uint8_t> data);

// The DER DigestInfo of a SHA-256 hash, as EMSA-PKCS1-v1_5 encodes it (RFC 8017, 9.2,
// note 1): the fixed 19-byte prefix, then the 32 bytes of `digest`.
[[nodiscard]] Bytes sha256_digest_info(std::span<const std::uint8_t> digest);

// The DER ECDSA-Sig-Value of a raw r||s signature; nullopt when `raw` is empty or of odd
// length, which no curve gives.
[[nodiscard]] std::optional<Bytes> ecdsa_raw_to_der(std::span<const std::uint8_t> raw);

enum class SignatureCheck { verified, mismatch };

struct SignatureVerdict {
    SignatureCheck check = SignatureCheck::mismatch;
    std::string reason;  // OpenSSL's words when it does not verify; may be empty
};

// Verifies `signature` (DER for ECDSA, PKCS#1 v1.5 for RSA) over `data` with SHA-256 and
// the public key of the DER certificate `certificate`. Throws CoreCode::certificate_invalid when
// the certificate or its key cannot be read.
[[nodiscard]] SignatureVerdict verify_sha256_signature(std::span<const std::uint8_t> certificate,
                                                       std::span<const std::uint8_t> data,
                                                       std::span<const std::uint8_t> signature);

}  // namespace cac
