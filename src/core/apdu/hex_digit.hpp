// The value of one hex digit, shared by the APDU folder's text parsers (commands, status
// word patterns, scripts), which need the position of each digit rather than whole bytes.
#pragma once

#include <string_view>

namespace cac::apdu_text {

// 0..15, or -1 for a character that is not a hex digit.
inline int hex_digit(char c) {
    constexpr std::string_view lower = "0123456789abcdef";
    char folded = (c >= 'A' && c <= 'F') ? char(c - 'A' + 'a') : c;
    auto at = lower.find(folded);
    return (at == std::string_view::npos || c == '\0') ? -1 : int(at);
}

}  // namespace cac::apdu_text
