// Writing certificates out: PEM text, DER bytes, and file names that are safe to create.
//
// `cactool certs --export DIR` writes one file per certificate, named after its PKCS#11
// label and CKA_ID. Labels come from the token, so they are untrusted: a name is built
// from them by these rules, in order:
//   1. from the label, keep ASCII letters, digits, '.', '-' and '_'; every other run of
//      bytes (spaces, '/', '\', control and non-ASCII bytes) becomes one '_';
//   2. drop leading '.', '-' and '_' (no hidden files, nothing read as an option) and
//      trailing '.' and '_'; cut the result to kMaxLabelStem bytes;
//   3. append "_" and the CKA_ID in lowercase hex when there is one, at most
//      kMaxIdHexDigits digits ("Certificate_for_PIV_Authentication_01");
//   4. an empty result becomes "certificate";
//   5. append ".pem" or ".der".
// Two certificates can still get the same name (equal labels and IDs, or labels that
// differ only in dropped characters or letter case). ExportNames hands out each name once:
// the second "x.pem" becomes "x-2.pem", the third "x-3.pem", comparing names without regard
// to letter case so that case-insensitive file systems do not merge them either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "core/util/hex.hpp"

namespace cac {

enum class ExportFormat { pem, der };

// ".pem" or ".der".
std::string_view file_extension(ExportFormat format);

// "-----BEGIN CERTIFICATE-----\n", the DER in base64 lines of 64 characters,
// "-----END CERTIFICATE-----\n" (RFC 7468).
std::string to_pem(std::span<const std::uint8_t> der);

// The bytes of an exported file: the PEM text, or the DER itself.
Bytes encode_certificate(std::span<const std::uint8_t> der, ExportFormat format);

inline constexpr std::size_t kMaxLabelStem = 64;
inline constexpr std::size_t kMaxIdHexDigits = 40;

// Rules 1-4 of the header comment: a file name without its extension.
std::string export_file_stem(std::string_view label, std::span<const std::uint8_t> id);

// Rules 1-5 plus the collision suffixes, for one export run.
class ExportNames {
  public:
    explicit ExportNames(ExportFormat format) : format_(format) {}

    // A file name not handed out before by this object.
    std::string next(std::string_view label, std::span<const std::uint8_t> id);

  private:
    ExportFormat format_;
    std::set<std::string> used_;  // lower case
};

}  // namespace cac
