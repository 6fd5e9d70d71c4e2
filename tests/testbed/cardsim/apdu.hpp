// Command APDUs as ISO/IEC 7816-4 clause 5.1 encodes them: the four cases, short and
// extended length fields. Only the byte layout is judged here; what a command means is
// the card's business.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "card.hpp"

namespace cardsim {

struct Command {
    std::uint8_t cla = 0, ins = 0, p1 = 0, p2 = 0;
    std::span<const std::uint8_t> data;  // empty for cases 1 and 2
    bool le_present = false;
    std::size_t ne = 0;  // the expected length Le stands for: 00 means 256 (65536 extended)
    bool extended = false;
};

// The command in `apdu`, or nullopt when its length fields do not fit its size.
std::optional<Command> parse_command(std::span<const std::uint8_t> apdu);

}  // namespace cardsim
