// Where a PIV card keeps the certificate of each key (SP 800-73-4 part 1 table 3 for the
// objects, table 4b for the key references).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace cac::piv {

struct CertificateSlot {
    std::string_view key_ref;  // "9A": as SP 800-73-4 writes the key reference
    std::uint32_t tag;         // 0x5FC105: the object holding the certificate
    std::string_view name;     // "PIV Authentication"
};

// 9A PIV Authentication, 9C Digital Signature, 9D Key Management, 9E Card Authentication,
// in that order.
std::span<const CertificateSlot> certificate_slots();

// The retired Key Management slots 82..95 (objects 5FC10D..5FC120), in order.
std::span<const CertificateSlot> retired_certificate_slots();

// The slot of a key reference ("9A", "9a", "82"), among the four and the retired ones.
std::optional<CertificateSlot> find_certificate_slot(std::string_view key_ref);

}  // namespace cac::piv
