// Certificates arrive from tokens and files: every x509 entry point that reads untrusted
// bytes must refuse them with cac::Error or succeed, never crash, leak or hang.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "core/util/error.hpp"
#include "core/x509/bundle.hpp"
#include "core/x509/certificate.hpp"
#include "core/x509/chain.hpp"
#include "core/x509/export.hpp"
#include "core/x509/piv_slot.hpp"

namespace {

constexpr std::time_t kAt = 1700000000;

void summarize(std::span<const std::uint8_t> der) {
    try {
        const cac::CertificateSummary summary = cac::summarize_certificate(der, kAt);
        const cac::TrustAnchors none;
        cac::validate_chain(summary, {}, none, kAt);
        if (cac::to_pem(summary.der).empty()) {
            std::abort();
        }
    } catch (const cac::Error&) {
    }
}

// The export name rules are a safety property: check them on every label.
void check_file_name(std::string_view label, std::span<const std::uint8_t> id) {
    const std::string stem = cac::export_file_stem(label, id);
    if (stem.empty() || stem.front() == '.' || stem.front() == '-' ||
        stem.find_first_of("/\\") != std::string::npos ||
        stem.size() > cac::kMaxLabelStem + 1 + cac::kMaxIdHexDigits) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    summarize(bytes);
    try {
        for (const cac::Bytes& der : cac::decode_certificates(bytes)) {
            summarize(der);
        }
    } catch (const cac::Error&) {
    }
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check_file_name(text, bytes.first(size < 8 ? size : 8));
    cac::piv_key_reference(bytes.first(size < 1 ? 0 : 1), text, cac::PivModule::opensc);
    return 0;
}
