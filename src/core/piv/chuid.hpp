// The Card Holder Unique Identifier (SP 800-73-4 part 1 appendix A table 9, object
// 5FC102) and the FASC-N it carries (TIG SCEPACS: 40 characters of 5 bits, four data
// bits low bit first and an odd parity bit, between a start and an end sentinel, with
// field separators and a closing longitudinal redundancy character).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/util/hex.hpp"

namespace cac::piv {

struct Fascn {
    std::string agency_code;                  // 4 digits
    std::string system_code;                  // 4
    std::string credential_number;            // 6
    std::string credential_series;            // 1
    std::string individual_credential_issue;  // 1
    std::string person_identifier;            // 10
    std::string organizational_category;      // 1
    std::string organizational_identifier;    // 4
    std::string person_association;           // 1
    // The 32 digits in the order above, without sentinels or separators.
    std::string digits() const;
};

// Decodes the 25 bytes of a FASC-N. Throws Error(parse_error) naming the character and
// what is wrong (a parity error, a separator out of place, a bad LRC).
Fascn decode_fascn(std::span<const std::uint8_t> bytes);

struct Chuid {
    Bytes fascn_bytes;                           // tag 30, as stored
    std::optional<Fascn> fascn;                  // decoded, when it decodes
    Bytes guid;                                  // tag 34 (16 bytes)
    std::string expiration;                      // tag 35, YYYYMMDD as written; "" when absent
    std::optional<std::string> expiration_date;  // the same as YYYY-MM-DD, when it is a date
    Bytes cardholder_uuid;                       // tag 36, optional
    bool signature_present = false;              // tag 3E holds bytes
    std::size_t signature_length = 0;            // tag 3E's length
    std::vector<std::string> warnings;  // tolerated oddities: empty signature, 3D, truncation
};

// Reads the CHUID: the value of its 53 wrapper (what get_data returns) or the whole
// object. The deprecated tags (EE, 32, 33, 3D) are tolerated; an empty signature (3E 00)
// and a truncated object are warnings, whatever could be read before them is kept.
// Throws Error(parse_error) when no TLV at all can be read.
Chuid parse_chuid(std::span<const std::uint8_t> object);

}  // namespace cac::piv
