#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cac {

using Bytes = std::vector<std::uint8_t>;

// Lowercase hex without separators, as every JSON document of cactool spells bytes.
std::string to_hex(std::span<const std::uint8_t> bytes);
// "aa:bb:cc" style, upper case, for human output.
std::string to_hex_colon(std::span<const std::uint8_t> bytes);
// Hex with optional spaces or colons between bytes; nullopt on an odd digit count or a
// character that is not a hex digit.
std::optional<Bytes> parse_hex(std::string_view text);

}  // namespace cac
