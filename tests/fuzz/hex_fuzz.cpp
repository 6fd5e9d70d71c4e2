// Hex text as users type it (ATRs, APDUs, key IDs) and as card data is printed: parsing
// must never crash, must accept exactly the texts made of whole bytes with separators only
// between them, and bytes printed either way must read back unchanged.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/util/hex.hpp"

namespace {

// The rule stated plainly, to check the parser against: digits come in pairs, and a
// space, tab or colon may stand anywhere but between the two digits of a pair.
bool acceptable(std::string_view text) {
    std::size_t digits = 0;
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == ':') {
            if (digits % 2 != 0)
                return false;
        } else if (std::isxdigit(static_cast<unsigned char>(c))) {
            ++digits;
        } else {
            return false;
        }
    }
    return digits % 2 == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = cac::parse_hex(text);
    if (parsed.has_value() != acceptable(text))
        std::abort();
    if (parsed && parsed->size() > size / 2)
        std::abort();

    // Any bytes, printed either way, read back as themselves.
    cac::Bytes raw(data, data + size);
    auto plain = cac::parse_hex(cac::to_hex(raw));
    auto colon = cac::parse_hex(cac::to_hex_colon(raw));
    if (!plain || *plain != raw || !colon || *colon != raw)
        std::abort();
    return 0;
}
