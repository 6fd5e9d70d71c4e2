// The card's cryptography and the test PKI behind its certificates, on OpenSSL 3's EVP and
// X509 APIs. Errors while building the card (reading keys, making certificates) throw
// std::runtime_error; the card operations return nullopt for input a card would refuse.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "card.hpp"

namespace cardsim {

using Pkey = std::shared_ptr<EVP_PKEY>;
using Cert = std::shared_ptr<X509>;

enum class Algorithm { rsa2048, ecc256, ecc384 };

// The profile's names (rsa2048, ecc256, ecc384) and SP 800-73-4 part 1 table 5 identifiers.
std::string algorithm_name(Algorithm alg);
std::optional<Algorithm> algorithm_from_name(const std::string& name);
std::uint8_t algorithm_id(Algorithm alg);
// The algorithm of a key, or nullopt for any other kind or size.
std::optional<Algorithm> key_algorithm(EVP_PKEY* key);

Pkey generate_key(Algorithm alg);
Pkey read_private_key(const std::filesystem::path& pem);
void write_private_key(const std::filesystem::path& pem, EVP_PKEY* key);
Cert read_certificate(const std::filesystem::path& pem);
void write_certificate(const std::filesystem::path& pem, X509* cert);
Bytes certificate_der(X509* cert);
bool certificate_matches_key(X509* cert, EVP_PKEY* key);

struct CertRequest {
    std::string common_name;
    std::time_t not_before = 0;
    std::time_t not_after = 0;
    bool ca = false;
    std::string key_usage;           // OpenSSL's names, comma-separated
    std::string extended_key_usage;  // likewise, may hold dotted OIDs; empty for none
};

// A certificate for `subject_key` signed by `issuer_key` (self-signed when issuer is null).
Cert make_certificate(const CertRequest& req, EVP_PKEY* subject_key, X509* issuer,
                      EVP_PKEY* issuer_key);

Bytes sha256(std::span<const std::uint8_t> data);
Bytes gzip(std::span<const std::uint8_t> data);
Bytes random_bytes(std::size_t n);

// The private key operations of GENERAL AUTHENTICATE (SP 800-73-4 part 2 appendix A).
// Raw RSA: the input must be exactly the modulus' size and smaller than the modulus.
std::optional<Bytes> rsa_raw(EVP_PKEY* key, std::span<const std::uint8_t> input);
// ECDSA over a hash no longer than the field; the signature is DER (SEQUENCE of r and s).
std::optional<Bytes> ecdsa_sign(EVP_PKEY* key, std::span<const std::uint8_t> hash);
// ECDH with the peer's uncompressed point; the shared secret's x coordinate.
std::optional<Bytes> ecdh(EVP_PKEY* key, std::span<const std::uint8_t> point);

}  // namespace cardsim
