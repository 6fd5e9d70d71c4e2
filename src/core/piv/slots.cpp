#include "core/piv/slots.hpp"

#include <array>
#include <cctype>

namespace cac::piv {
namespace {

// SP 800-73-4 part 1 table 3 (object identifiers) and table 4b (key references).
constexpr std::array<CertificateSlot, 4> kSlots{{
    {"9A", 0x5FC105, "PIV Authentication"},
    {"9C", 0x5FC10A, "Digital Signature"},
    {"9D", 0x5FC10B, "Key Management"},
    {"9E", 0x5FC101, "Card Authentication"},
}};

// Retired Key Management 1..20: key references 82..95, objects 5FC10D..5FC120.
constexpr std::array<CertificateSlot, 20> kRetired{{
    {"82", 0x5FC10D, "Retired Key Management 1"},  {"83", 0x5FC10E, "Retired Key Management 2"},
    {"84", 0x5FC10F, "Retired Key Management 3"},  {"85", 0x5FC110, "Retired Key Management 4"},
    {"86", 0x5FC111, "Retired Key Management 5"},  {"87", 0x5FC112, "Retired Key Management 6"},
    {"88", 0x5FC113, "Retired Key Management 7"},  {"89", 0x5FC114, "Retired Key Management 8"},
    {"8A", 0x5FC115, "Retired Key Management 9"},  {"8B", 0x5FC116, "Retired Key Management 10"},
    {"8C", 0x5FC117, "Retired Key Management 11"}, {"8D", 0x5FC118, "Retired Key Management 12"},
    {"8E", 0x5FC119, "Retired Key Management 13"}, {"8F", 0x5FC11A, "Retired Key Management 14"},
    {"90", 0x5FC11B, "Retired Key Management 15"}, {"91", 0x5FC11C, "Retired Key Management 16"},
    {"92", 0x5FC11D, "Retired Key Management 17"}, {"93", 0x5FC11E, "Retired Key Management 18"},
    {"94", 0x5FC11F, "Retired Key Management 19"}, {"95", 0x5FC120, "Retired Key Management 20"},
}};

bool same_reference(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::toupper(static_cast<unsigned char>(a[i])) !=
            std::toupper(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

}  // namespace

std::span<const CertificateSlot> certificate_slots() {
    return kSlots;
}

std::span<const CertificateSlot> retired_certificate_slots() {
    return kRetired;
}

std::optional<CertificateSlot> find_certificate_slot(std::string_view key_ref) {
    for (std::span<const CertificateSlot> table :
         {certificate_slots(), retired_certificate_slots()}) {
        for (const CertificateSlot& slot : table) {
            if (same_reference(slot.key_ref, key_ref))
                return slot;
        }
    }
    return std::nullopt;
}

}  // namespace cac::piv
