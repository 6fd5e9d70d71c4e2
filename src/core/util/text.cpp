#include "core/util/text.hpp"

#include <cstdint>
#include <cstdio>

namespace cac {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";

// Length of the valid UTF-8 sequence at the start of `s`, or 0 if it is not one
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t valid_sequence_length(std::string_view s) {
    auto byte = [&s](std::size_t i) { return std::uint8_t(s[i]); };
    std::uint8_t lead = byte(0);
    if (lead < 0x80)
        return 1;
    std::size_t length = 0;
    std::uint8_t low = 0x80, high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        if (lead == 0xe0)
            low = 0xa0;
        if (lead == 0xed)
            high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        if (lead == 0xf0)
            low = 0x90;
        if (lead == 0xf4)
            high = 0x8f;
    } else {
        return 0;
    }
    if (s.size() < length)
        return 0;
    if (byte(1) < low || byte(1) > high)
        return 0;
    for (std::size_t i = 2; i < length; ++i) {
        if (byte(i) < 0x80 || byte(i) > 0xbf)
            return 0;
    }
    return length;
}

}  // namespace

std::string sanitize_utf8(std::string_view bytes) {
    std::string text;
    text.reserve(bytes.size());
    while (!bytes.empty()) {
        std::size_t length = valid_sequence_length(bytes);
        if (length == 0) {
            text += replacement;
            length = 1;
        } else {
            text += bytes.substr(0, length);
        }
        bytes.remove_prefix(length);
    }
    return text;
}

std::string fixed_field_text(const unsigned char* field, std::size_t size) {
    std::size_t end = 0;
    while (end < size && field[end] != 0)
        ++end;
    std::string_view raw(reinterpret_cast<const char*>(field), end);
    std::size_t first = raw.find_first_not_of(' ');
    if (first == std::string_view::npos)
        return {};
    std::size_t last = raw.find_last_not_of(' ');
    return sanitize_utf8(raw.substr(first, last - first + 1));
}

std::string printable_text(std::string_view text) {
    std::string valid = sanitize_utf8(text);
    std::string safe;
    safe.reserve(valid.size());
    char escaped[8];
    for (std::size_t i = 0; i < valid.size(); ++i) {
        auto byte = static_cast<unsigned char>(valid[i]);
        // C1 controls arrive in UTF-8 as C2 80 .. C2 9F.
        bool c1 = byte == 0xc2 && i + 1 < valid.size() &&
                  static_cast<unsigned char>(valid[i + 1]) <= 0x9f &&
                  static_cast<unsigned char>(valid[i + 1]) >= 0x80;
        if (byte < 0x20 || byte == 0x7f) {
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            safe += escaped;
        } else if (c1) {
            std::snprintf(escaped, sizeof escaped, "\\x%02x",
                          static_cast<unsigned char>(valid[++i]));
            safe += escaped;
        } else {
            safe += valid[i];
        }
    }
    return safe;
}

}  // namespace cac
