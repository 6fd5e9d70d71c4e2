// A response APDU (ISO/IEC 7816-4 clause 5.1): the data field, then SW1 SW2.
#pragma once

#include <span>
#include <string>

#include "core/apdu/status_words.hpp"
#include "core/util/hex.hpp"

namespace cac {

struct ApduResponse {
    Bytes data;
    StatusWord sw;

    // Splits the bytes a card sent. Throws cac::Error (parse_error) when fewer than the two
    // status bytes arrived.
    static ApduResponse decode(std::span<const std::uint8_t> bytes);
    Bytes encode() const;  // data then SW1 SW2

    bool ok() const { return sw.value() == 0x9000; }
    SwMeaning meaning(SwDialect dialect = SwDialect::piv) const {
        return cac::meaning(sw, dialect);
    }
    // "9000 (success), 12 bytes"
    std::string describe() const;
};

}  // namespace cac
