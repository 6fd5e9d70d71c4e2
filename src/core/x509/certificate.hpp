// What an operator needs to know about one X.509 certificate.
//
// A certificate arrives as DER from a token (CKA_VALUE) or a PIV container, which makes it
// untrusted input: the parser refuses anything over kMaxCertificateSize and anything with
// bytes after the certificate, and every field below is derived by OpenSSL 3. A summary is
// cheap (a token may hold hundreds of certificates): no signature is checked to make it. The fields
// are the ones `cactool certs` reports (SPEC.md, the `certificates` keys).
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/hex.hpp"

namespace cac {

// Larger than any certificate a smart card holds (a PIV container is at most a few KiB)
// while keeping a hostile input from costing much.
inline constexpr std::size_t kMaxCertificateSize = 64 * 1024;

// Where `now` falls in notBefore..notAfter (both ends inclusive, RFC 5280 4.1.2.5).
enum class Validity { valid, expired, not_yet_valid };

// "valid", "expired", "not_yet_valid".
std::string_view to_string(Validity validity);

struct CertificateSummary {
    // The certificate exactly as it was given, for export.
    Bytes der;

    // Distinguished names in RFC 2253 form ("CN=ICAM PIV Authentication,OU=...,C=US"),
    // UTF-8, as `openssl x509 -noout -subject -nameopt RFC2253` prints them.
    std::string subject;
    std::string issuer;

    // The serial's magnitude as lowercase hex, byte by byte as `openssl x509 -serial`
    // prints it, with a leading "-" for a negative DER INTEGER: "-04316693ed".
    std::string serial;
    // The same number in decimal ("-18008675309"); empty for a serial over 64 bytes,
    // which no conforming CA issues and which is not worth a quadratic conversion.
    std::string serial_decimal;

    // Seconds since the Unix epoch, and the same instants in RFC 3339 UTC.
    std::int64_t not_before = 0;
    std::int64_t not_after = 0;
    std::string not_before_text;  // "2030-03-21T00:00:00Z"
    std::string not_after_text;
    // Whole days from `now` to notAfter, rounded down: 0 while less than a day is left,
    // -1 during the first day after expiry.
    std::int64_t days_left = 0;
    Validity validity = Validity::valid;

    // "rsa", "rsa_pss", "ec", "ed25519", "ed448", "dsa", or OpenSSL's short name of the
    // key algorithm for anything else.
    std::string key_type;
    // Key size in bits; nullopt when OpenSSL cannot decode the public key.
    std::optional<int> key_bits;
    // For EC keys: "P-256", "P-384", "P-521", or OpenSSL's name of the curve.
    std::string curve;

    // keyUsage bits by name (digital_signature, non_repudiation, key_encipherment,
    // data_encipherment, key_agreement, key_cert_sign, crl_sign, encipher_only,
    // decipher_only), in that order; empty when the extension is absent.
    std::vector<std::string> key_usage;
    bool key_usage_present = false;

    // extendedKeyUsage purposes: server_auth, client_auth, code_signing,
    // email_protection, time_stamping, ocsp_signing, any, smartcard_logon,
    // piv_card_auth, pkinit_client, or the dotted OID; in certificate order.
    std::vector<std::string> extended_key_usage;
    bool extended_key_usage_present = false;

    // Lowercase hex SHA-256 of the DER.
    std::string sha256;

    // basicConstraints cA, and its pathLenConstraint when given.
    bool is_ca = false;
    std::optional<long> path_length;

    // Subject and issuer names are equal (RFC 5280 "self-issued"). Whether the certificate
    // is also self-signed is verify_self_signature's question, as it costs a signature
    // check.
    bool self_issued = false;
};

// Lowercase hex SHA-256 of any bytes (a certificate's DER, or bytes that fail to parse).
std::string sha256_hex(std::span<const std::uint8_t> der);

// Parses one DER certificate and summarises it as of `now`. Throws
// Error(CoreCode::certificate_invalid, "parse certificate", reason) for input that is
// empty, larger than kMaxCertificateSize, followed by extra bytes, or not a certificate.
CertificateSummary summarize_certificate(std::span<const std::uint8_t> der, std::time_t now);

// Whether the certificate is self-issued and its signature verifies with its own public
// key (RFC 5280 "self-signed"). A key-rollover certificate is self-issued but signed by the
// previous key, so false. Also false for a summary whose DER does not parse.
bool verify_self_signature(const CertificateSummary& summary);

// RFC 3339 UTC text of a Unix time: "2052-12-31T23:59:59Z".
std::string format_rfc3339(std::int64_t unix_time);

}  // namespace cac
