// Text that arrives from cards and modules.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cac {

// A fixed-width PKCS#11 text field (CK_TOKEN_INFO label, CK_SLOT_INFO description...).
// Modules fill them blank-padded on the right as the standard says, but also padded on
// the left, NUL-padded, or using every byte with no terminator. This reads at most
// `size` bytes, stops at the first NUL, trims blanks on both sides and decodes as UTF-8
// with invalid sequences replaced by U+FFFD.
std::string fixed_field_text(const unsigned char* field, std::size_t size);

template <std::size_t N>
std::string fixed_field_text(const unsigned char (&field)[N]) {
    return fixed_field_text(field, N);
}

// Valid UTF-8 with each invalid sequence replaced by U+FFFD.
std::string sanitize_utf8(std::string_view bytes);

// Text safe to show on a terminal or in a log line: valid UTF-8, with control characters
// (C0, DEL, C1) written as \xNN, so text from a card cannot move the cursor, change
// colours or forge a line.
std::string printable_text(std::string_view text);

}  // namespace cac
