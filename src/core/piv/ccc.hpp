// The Card Capability Container (SP 800-73-4 part 1 appendix A table 8, object 5FC107):
// a GSC-IS leftover that PIV keeps for compatibility, free to read. Its fields name the
// card (F0), the container and grammar versions (F1, F2), the data model (F5, 10 for
// PIV), and carry tags that PIV leaves empty (F7, FA to FD).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/util/hex.hpp"

namespace cac::piv {

// Tag F0, when it has the 21 bytes of table 8: the GSC-RID, a manufacturer ID, a card
// type, and the card ID.
struct CardIdentifier {
    Bytes gsc_rid;                 // 5 bytes (A0 00 00 01 16 for GSC-IS)
    std::uint8_t manufacturer_id;  // 1
    std::uint8_t card_type;        // 1 (GSC-IS: 01 file system, 02 Java Card, 03 multos)
    Bytes card_id;                 // 14
};

struct CardCapabilityContainer {
    Bytes card_identifier;                          // F0 as stored
    std::optional<CardIdentifier> identifier;       // F0 split, when it has 21 bytes
    std::optional<std::uint8_t> container_version;  // F1
    std::optional<std::uint8_t> grammar_version;    // F2
    Bytes applications_url;                         // F3, often empty
    std::optional<std::uint8_t> pkcs15;             // F4
    std::optional<std::uint8_t> data_model;         // F5: 10 is the PIV data model
    Bytes access_control_rule_table;                // F6
    Bytes extended_application_url;                 // E3, optional
    Bytes security_object_buffer;                   // B4, optional
    std::vector<std::string> warnings;              // missing mandatory tags, truncation
};

// Reads the CCC: the value of its 53 wrapper (what get_data returns) or the whole object.
// A mandatory tag missing or a truncated object is a warning (whatever came before is
// kept). Throws Error(parse_error) when no TLV at all can be read.
CardCapabilityContainer parse_ccc(std::span<const std::uint8_t> object);

}  // namespace cac::piv
