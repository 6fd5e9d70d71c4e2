#include "core/x509/piv_slot.hpp"

#include <array>
#include <cstdio>

namespace cac {
namespace {

constexpr std::uint8_t kFirstRetired = 0x82;
constexpr std::uint8_t kLastRetired = 0x95;
constexpr std::uint8_t kAttestation = 0xF9;

struct MainSlot {
    std::uint8_t reference;
    std::string_view purpose;
};

// In CKA_ID order 1..4 for both modules.
constexpr std::array<MainSlot, 4> kMainSlots = {{
    {0x9A, "PIV Authentication"},
    {0x9C, "Digital Signature"},
    {0x9D, "Key Management"},
    {0x9E, "Card Authentication"},
}};

bool consume(std::string_view& text, std::string_view prefix) {
    if (text.substr(0, prefix.size()) != prefix) {
        return false;
    }
    text.remove_prefix(prefix.size());
    return true;
}

// A retired key number 1..20 spelled in decimal, and nothing after it.
std::optional<std::uint8_t> retired_number(std::string_view text) {
    if (text.empty() || text.size() > 2 || text[0] == '0') {
        return std::nullopt;
    }
    int number = 0;
    for (char c : text) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        number = number * 10 + (c - '0');
    }
    if (number < 1 || number > 20) {
        return std::nullopt;
    }
    return static_cast<std::uint8_t>(kFirstRetired + number - 1);
}

std::optional<std::uint8_t> hex_byte(std::string_view text) {
    if (text.size() != 2) {
        return std::nullopt;
    }
    unsigned value = 0;
    for (char c : text) {
        value <<= 4;
        if (c >= '0' && c <= '9') {
            value |= static_cast<unsigned>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            value |= static_cast<unsigned>(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            value |= static_cast<unsigned>(c - 'A' + 10);
        } else {
            return std::nullopt;
        }
    }
    return static_cast<std::uint8_t>(value);
}

std::optional<std::uint8_t> from_label(std::string_view label) {
    const bool retired_opensc = consume(label, "Retired ");
    consume(label, "X.509 ");
    if (!consume(label, "Certificate for ")) {
        return std::nullopt;
    }
    if (retired_opensc) {
        return consume(label, "Key Management ") ? retired_number(label) : std::nullopt;
    }
    for (const MainSlot& slot : kMainSlots) {
        if (label == slot.purpose) {
            return slot.reference;
        }
    }
    if (consume(label, "Retired Key ")) {
        return retired_number(label);
    }
    if (label == "PIV Attestation") {
        return kAttestation;
    }
    // ykcs11's attestation of another key describes that key.
    if (consume(label, "PIV Attestation ")) {
        return hex_byte(label);
    }
    return std::nullopt;
}

std::optional<std::uint8_t> from_id(std::uint8_t id, PivModule module) {
    if (id >= 1 && id <= 4) {
        return kMainSlots[id - 1].reference;
    }
    if (id >= 5 && id <= 9) {
        return static_cast<std::uint8_t>(kFirstRetired + id - 5);
    }
    if (module == PivModule::ykcs11) {
        if (id >= 10 && id <= 24) {
            return static_cast<std::uint8_t>(kFirstRetired + id - 5);
        }
        return id == 25 ? std::optional<std::uint8_t>(kAttestation) : std::nullopt;
    }
    if (module == PivModule::opensc) {
        // The ID is the retired key's position written in decimal digits read as hex.
        const unsigned tens = id >> 4;
        const unsigned units = id & 0x0F;
        const unsigned position = tens * 10 + units;
        if (units <= 9 && position >= 10 && position <= 24) {
            return static_cast<std::uint8_t>(kFirstRetired + position - 5);
        }
    }
    return std::nullopt;
}

}  // namespace

PivModule piv_module_from_manufacturer(std::string_view manufacturer_id) {
    if (manufacturer_id.substr(0, 6) == "OpenSC") {
        return PivModule::opensc;
    }
    if (manufacturer_id.substr(0, 6) == "Yubico") {
        return PivModule::ykcs11;
    }
    return PivModule::unknown;
}

std::optional<std::uint8_t> piv_key_reference(std::span<const std::uint8_t> cka_id,
                                              std::string_view label, PivModule module) {
    if (auto reference = from_label(label)) {
        return reference;
    }
    if (cka_id.size() != 1) {
        return std::nullopt;
    }
    return from_id(cka_id[0], module);
}

std::string piv_slot_name(std::uint8_t key_reference) {
    char text[3];
    std::snprintf(text, sizeof text, "%02x", key_reference);
    return text;
}

std::string piv_slot_purpose(std::uint8_t key_reference) {
    for (const MainSlot& slot : kMainSlots) {
        if (slot.reference == key_reference) {
            return std::string(slot.purpose);
        }
    }
    if (key_reference >= kFirstRetired && key_reference <= kLastRetired) {
        return "Retired Key Management " + std::to_string(key_reference - kFirstRetired + 1);
    }
    return key_reference == kAttestation ? "Attestation" : "";
}

}  // namespace cac
