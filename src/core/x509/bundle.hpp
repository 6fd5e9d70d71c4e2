// Certificates as files hold them: PEM bundles, single DER certificates, PKCS#7 bundles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/util/hex.hpp"

namespace cac {

// Larger than any CA bundle in use (the FPKI's PKCS#7 bundle of every CA certificate that
// chains to the Federal Common Policy CA is about 320 KiB).
inline constexpr std::size_t kMaxBundleSize = 16 * 1024 * 1024;
inline constexpr std::size_t kMaxBundleCertificates = 10000;

// The certificates in a file's bytes, as DER, in file order:
//  - PEM: CERTIFICATE, X509 CERTIFICATE, TRUSTED CERTIFICATE (the trust settings after
//    the certificate are dropped) and PKCS7 blocks; text around and between blocks and
//    CRLF line ends are fine; other blocks (keys, CRLs) are skipped;
//  - one DER certificate;
//  - a DER PKCS#7 bundle (.p7b / .p7c).
// Throws Error(CoreCode::certificate_invalid, "read certificates", reason) when the data
// is larger than kMaxBundleSize, holds more than kMaxBundleCertificates certificates or
// none, or has a damaged block or certificate.
std::vector<Bytes> decode_certificates(std::span<const std::uint8_t> data);

}  // namespace cac
