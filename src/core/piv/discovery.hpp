// The Discovery Object (SP 800-73-4 part 1 section 3.3.2, tag 7E): the PIV AID again and
// the PIN Usage Policy, which says which PINs the card accepts for the PIV access rules
// and which one a client should ask for.
//
// First byte of the policy: 40 the PIV application PIN satisfies the access rules, 20 the
// Global PIN does, 10 on-card biometric comparison does, 08 the virtual contact interface
// with a pairing code is supported (the low bits are for the future). Second byte, read
// only when the Global PIN satisfies the rules: 10 the application PIN is primary, 20 the
// Global PIN is. So "Global PIN primary" depends on bit 20 of the first byte alone, not
// on the first byte being exactly 60: 68 20 and 78 20 mean it too.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/util/hex.hpp"

namespace cac::piv {

struct PinUsagePolicy {
    std::uint8_t first = 0;
    std::uint8_t second = 0;

    bool application_pin() const { return first & 0x40; }
    bool global_pin() const { return first & 0x20; }
    bool on_card_comparison() const { return first & 0x10; }
    bool virtual_contact_interface() const { return first & 0x08; }
    bool global_pin_primary() const { return global_pin() && second == 0x20; }
};

struct DiscoveryObject {
    Bytes aid;                             // tag 4F
    std::optional<PinUsagePolicy> policy;  // tag 5F2F; none when the card left it out
    std::vector<std::string> warnings;
};

// Reads the Discovery Object: the value of its 7E template (what get_data returns) or the
// whole object with its 7E. An empty template (7E 00) is a card that offers none, and
// reads as no policy with a warning. Throws Error(parse_error) when it is not TLV.
DiscoveryObject parse_discovery(std::span<const std::uint8_t> object);

}  // namespace cac::piv
