// PIV objects from cards: certificate containers (with their inflating), the CHUID and its
// FASC-N, the Discovery Object, the CCC, the printed information, the key history and
// SELECT's property template, each fed the same bytes.
// Only cac::Error may leave a parser; anything else, or a result past its bound, aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/piv/piv.hpp"
#include "core/util/error.hpp"

namespace {

void container(std::span<const std::uint8_t> bytes) {
    try {
        cac::piv::CertificateContainer c = cac::piv::parse_certificate_container(bytes);
        if (c.certificate.empty() || c.certificate.size() > cac::piv::kMaxCertificateBytes)
            std::abort();
    } catch (const cac::Error&) {
    }
}

void chuid(std::span<const std::uint8_t> bytes) {
    try {
        cac::piv::Chuid c = cac::piv::parse_chuid(bytes);
        if (c.fascn && c.fascn->digits().size() != 32)
            std::abort();
    } catch (const cac::Error&) {
    }
}

void discovery(std::span<const std::uint8_t> bytes) {
    try {
        (void)cac::piv::parse_discovery(bytes);
    } catch (const cac::Error&) {
    }
}

// No field of these is longer than the object it came from.
void ccc(std::span<const std::uint8_t> bytes) {
    try {
        cac::piv::CardCapabilityContainer c = cac::piv::parse_ccc(bytes);
        if (c.card_identifier.size() > bytes.size() ||
            c.access_control_rule_table.size() > bytes.size() ||
            (c.identifier && c.identifier->card_id.size() != 14))
            std::abort();
    } catch (const cac::Error&) {
    }
}

void printed(std::span<const std::uint8_t> bytes) {
    try {
        cac::piv::PrintedInformation p = cac::piv::parse_printed_information(bytes);
        if (p.name && p.name->size() > bytes.size())
            std::abort();
    } catch (const cac::Error&) {
    }
}

void key_history(std::span<const std::uint8_t> bytes) {
    try {
        cac::piv::KeyHistory k = cac::piv::parse_key_history(bytes);
        if (k.off_card_cert_url && k.off_card_cert_url->size() > bytes.size())
            std::abort();
    } catch (const cac::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> bytes(data, size);
    container(bytes);
    chuid(bytes);
    discovery(bytes);
    ccc(bytes);
    printed(bytes);
    key_history(bytes);
    (void)cac::piv::parse_application_template(bytes);  // never throws
    return 0;
}
