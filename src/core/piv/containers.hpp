// The certificate container of a PIV key (SP 800-73-4 part 1 appendix A, table 10 to 15
// and 20 to 39): inside the 53 wrapper, 70 the certificate, 71 CertInfo, 72 MSCUID
// (optional, deprecated), FE the error detection code (always empty).
//
// CertInfo (part 1 section 3.3.x, "CertInfo") says in its low bit whether the certificate
// is compressed; cards compress it with gzip (RFC 1952), some with zlib (RFC 1950), and
// some older cards wrote 80 for "compressed". The inflated size is bounded before any
// byte is kept, so a small object that inflates to gigabytes is refused after the limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/util/hex.hpp"

namespace cac::piv {

// The largest certificate accepted after inflating. Card certificates are 1 to 3 KiB;
// 64 KiB leaves room for long extension lists and is still bounded.
inline constexpr std::size_t kMaxCertificateBytes = 65536;

struct CertificateContainer {
    Bytes certificate;  // DER, decompressed when it was compressed
    bool compressed = false;
    std::uint8_t cert_info = 0;         // tag 0x71 value (0 when absent)
    std::vector<std::string> warnings;  // e.g. no 0xFE error detection code
};

// Parses a certificate container: the value of the 53 wrapper (what get_data returns), or
// the whole object with its 53 wrapper. CertInfo 0x01 (and the legacy 0x80) means gzip
// or zlib compressed: inflated with zlib, at most kMaxCertificateBytes. Throws
// Error(CoreCode::parse_error) with a message that says what is wrong.
CertificateContainer parse_certificate_container(std::span<const std::uint8_t> object);

// Inflates gzip (1F 8B) or zlib data, refusing output over `limit` bytes without
// allocating it. Throws Error(parse_error).
Bytes inflate_bounded(std::span<const std::uint8_t> data, std::size_t limit);

}  // namespace cac::piv
