// BER-TLV as PIV uses it (ISO/IEC 7816-4 clause 5.2, NIST SP 800-73-4 part 2 clause 3):
// tags of one to three bytes, definite lengths of one to three bytes. Parsing never reads
// past the given span; anything malformed is std::nullopt.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "card.hpp"

namespace cardsim {

struct Tlv {
    std::uint32_t tag = 0;
    std::span<const std::uint8_t> value;
    std::size_t size = 0;  // of the whole encoding: tag, length and value
};

// The TLV at the start of `in`, or nullopt when it is cut short or malformed.
std::optional<Tlv> read_tlv(std::span<const std::uint8_t> in);

// Every TLV of `in` in order, or nullopt unless they exactly fill it.
std::optional<std::vector<Tlv>> read_all_tlv(std::span<const std::uint8_t> in);

void append_tag(Bytes& out, std::uint32_t tag);
void append_length(Bytes& out, std::size_t length);
void append_tlv(Bytes& out, std::uint32_t tag, std::span<const std::uint8_t> value);
Bytes tlv(std::uint32_t tag, std::span<const std::uint8_t> value);

}  // namespace cardsim
