// Building and checking a certificate's chain to trust anchors, with OpenSSL's verifier.
//
// Anchors come from the operator (--ca-file, --ca-dir, the config file); intermediates
// come from the token. Every anchor is trusted as given, whether self-signed or not
// (RFC 5280 6.1.1 (d): a trust anchor is any certificate the relying party chooses), so
// an operator may trust an issuing CA without its root. Revocation (CRL, OCSP) and
// certificate policies are not checked: the tool runs offline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/util/hex.hpp"
#include "core/x509/certificate.hpp"

namespace cac {

class TrustAnchors {
  public:
    // The certificates of a CA file, in any form decode_certificates reads (a PEM bundle,
    // a DER certificate, a PKCS#7 bundle). Throws Error(CoreCode::io_error) when the file
    // cannot be read and Error(CoreCode::config_invalid) when it holds no certificate or a
    // damaged one; both name the file, and operation is "load trust anchors".
    void add_file(const std::filesystem::path& file);

    // Every certificate file directly in a directory: names ending in .pem, .crt, .cer,
    // .der, .p7b or .p7c (in any letter case), and the hashed names of an OpenSSL CA
    // directory (eight hex digits, '.', a number; CRLs' ".rN" names are not certificates).
    // Other files are skipped, so c_rehash is not needed and not relied on. Errors as for
    // add_file; a directory that cannot be listed is an io_error.
    void add_directory(const std::filesystem::path& directory);

    // One DER certificate; throws Error(CoreCode::certificate_invalid) if it is not one.
    void add_certificate(std::span<const std::uint8_t> der);

    // Anchors in the order added, each once.
    const std::vector<Bytes>& certificates() const { return certificates_; }
    std::size_t size() const { return certificates_.size(); }
    bool empty() const { return certificates_.empty(); }

  private:
    void add_file_contents(const std::filesystem::path& file);
    void add_unique(Bytes der);

    std::vector<Bytes> certificates_;
    std::set<Bytes> seen_;
};

struct ChainResult {
    bool ok = false;
    // OpenSSL's X509_V_ERR_* value (0, X509_V_OK, on success) and its text
    // ("certificate has expired", "unable to get local issuer certificate").
    int error = 0;
    std::string error_text;
    // Index in `chain` of the certificate the error is about (0 is the leaf); -1 when ok.
    int error_depth = -1;
    // RFC 2253 subjects from the leaf towards the anchor, as far as the chain was built.
    std::vector<std::string> chain;
};

// Trust anchors and candidate intermediates, each parsed once, for checking many leaves.
// `certs --validate` offers every certificate on a token as an intermediate of every
// other; parsing that pool (and the anchors) again for each leaf made a run quadratic in
// the number of certificates. Each leaf still costs its own parse and OpenSSL's search of
// the pool while it builds the path.
class ChainValidator {
  public:
    // Copies what it needs, so neither argument has to outlive the validator.
    // Intermediates (DER) that do not parse are skipped with one warning each, naming
    // their 1-based place in `intermediates`.
    ChainValidator(const TrustAnchors& anchors, std::span<const Bytes> intermediates);
    ~ChainValidator();
    ChainValidator(ChainValidator&&) noexcept;
    ChainValidator& operator=(ChainValidator&&) noexcept;
    ChainValidator(const ChainValidator&) = delete;
    ChainValidator& operator=(const ChainValidator&) = delete;

    // Verifies `leaf` at time `at` (default: now). A chain that does not verify is a
    // result, not an exception; a leaf whose DER does not parse throws
    // Error(CoreCode::certificate_invalid). Results do not depend on which leaves were
    // checked before.
    ChainResult validate(const CertificateSummary& leaf, std::optional<std::time_t> at = {}) const;

    // How many of the intermediates parsed and are offered to every chain.
    std::size_t intermediate_count() const;

  private:
    struct Parsed;
    std::unique_ptr<Parsed> parsed_;
};

// One leaf: the same as ChainValidator(anchors, intermediates).validate(leaf, at). To check
// several leaves against the same intermediates, build one ChainValidator instead.
ChainResult validate_chain(const CertificateSummary& leaf, std::span<const Bytes> intermediates,
                           const TrustAnchors& anchors, std::optional<std::time_t> at = {});

}  // namespace cac
