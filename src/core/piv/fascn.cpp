// FASC-N decoding (TIG SCEPACS v2.3 section 6, as SP 800-73-4 part 1 appendix A cites it).
//
// The 25 bytes are 200 bits read high bit first, cut into 40 characters of 5 bits. Each
// character is four data bits, the lowest first, then a parity bit that makes the number
// of ones odd. Data values 0-9 are digits; B starts (SS), D separates (FS), F ends (ES).
// The 40th character is the LRC: the exclusive or of the data bits of the 39 before it,
// with its own odd parity.
#include <array>

#include "core/piv/chuid.hpp"
#include "core/util/error.hpp"

namespace cac::piv {
namespace {

constexpr std::size_t kFascnBytes = 25;
constexpr std::size_t kCharacters = 40;
constexpr std::uint8_t kStart = 0xB;
constexpr std::uint8_t kSeparator = 0xD;
constexpr std::uint8_t kEnd = 0xF;

// Where the fixed characters sit, and the digit fields between them.
struct Field {
    std::size_t first;
    std::size_t count;
    std::string Fascn::*target;
};
constexpr std::array<Field, 9> kFields{{
    {1, 4, &Fascn::agency_code},
    {6, 4, &Fascn::system_code},
    {11, 6, &Fascn::credential_number},
    {18, 1, &Fascn::credential_series},
    {20, 1, &Fascn::individual_credential_issue},
    {22, 10, &Fascn::person_identifier},
    {32, 1, &Fascn::organizational_category},
    {33, 4, &Fascn::organizational_identifier},
    {37, 1, &Fascn::person_association},
}};
constexpr std::array<std::size_t, 5> kSeparators{5, 10, 17, 19, 21};
constexpr std::size_t kStartAt = 0;
constexpr std::size_t kEndAt = 38;
constexpr std::size_t kLrcAt = 39;

Error fascn_error(std::string reason) {
    return Error(CoreCode::parse_error, "decode the FASC-N", std::move(reason));
}

// The data value of character `index`, its parity checked.
std::uint8_t character(std::span<const std::uint8_t> bytes, std::size_t index) {
    unsigned bits = 0;
    for (std::size_t i = 0; i < 5; ++i) {
        std::size_t bit = index * 5 + i;
        bits = bits << 1 | ((bytes[bit / 8] >> (7 - bit % 8)) & 1u);
    }
    // `bits` now reads b1 b2 b3 b4 P from the high end; b1 is the lowest data bit.
    std::uint8_t value =
        std::uint8_t((bits >> 4 & 1) | (bits >> 2 & 2) | (bits & 4) | (bits << 2 & 8));
    if (__builtin_popcount(bits) % 2 == 0)
        throw fascn_error("character " + std::to_string(index + 1) + " fails its parity check");
    return value;
}

void expect(std::uint8_t value, std::uint8_t wanted, std::size_t index, const char* what) {
    if (value != wanted)
        throw fascn_error("character " + std::to_string(index + 1) + " is not " + what);
}

}  // namespace

std::string Fascn::digits() const {
    std::string all;
    for (const Field& field : kFields)
        all += this->*field.target;
    return all;
}

Fascn decode_fascn(std::span<const std::uint8_t> bytes) {
    if (bytes.size() != kFascnBytes)
        throw fascn_error("it has " + std::to_string(bytes.size()) + " bytes, not 25");
    std::array<std::uint8_t, kCharacters> chars{};
    std::uint8_t lrc = 0;
    for (std::size_t i = 0; i < kCharacters; ++i) {
        chars[i] = character(bytes, i);
        if (i < kLrcAt)
            lrc ^= chars[i];
    }
    expect(chars[kStartAt], kStart, kStartAt, "the start sentinel");
    expect(chars[kEndAt], kEnd, kEndAt, "the end sentinel");
    for (std::size_t at : kSeparators)
        expect(chars[at], kSeparator, at, "a field separator");
    if (chars[kLrcAt] != lrc)
        throw fascn_error("the LRC does not match the characters");
    Fascn out;
    for (const Field& field : kFields) {
        for (std::size_t i = field.first; i < field.first + field.count; ++i) {
            if (chars[i] > 9)
                throw fascn_error("character " + std::to_string(i + 1) + " is not a digit");
            out.*field.target += char('0' + chars[i]);
        }
    }
    return out;
}

}  // namespace cac::piv
