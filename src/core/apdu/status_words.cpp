#include "core/apdu/status_words.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>

#include "core/apdu/hex_digit.hpp"

namespace cac {
namespace {

using D = SwDialect;
using K = SwClass;

constexpr std::string_view kIso = "ISO/IEC 7816-4:2013 5.6";
constexpr std::string_view kPiv = "NIST SP 800-73-4 part 2 table 6";
// Seen on DoD CAC cards (GSC-IS 2.1 applets): the READ BUFFER and GET PROPERTIES answers
// as the libcacard CAC emulator gives them, and the GET DATA answer of a 2015 CAC traced
// in OpenSC issue 570 (tests/data/03-piv-cac-objects).
constexpr std::string_view kCac = "GSC-IS 2.1 (DoD CAC)";

// Specific rows before their families does not matter: the lookup prefers the pattern
// with the fewest x digits.
constexpr std::array rows{
    StatusWordRow{"9000", D::iso, K::success, "success", kIso},
    StatusWordRow{"61xx", D::iso, K::success, "success; %n more bytes available (GET RESPONSE)",
                  kIso},
    StatusWordRow{"6100", D::iso, K::success, "success; 256 or more bytes available (GET RESPONSE)",
                  kIso},
    StatusWordRow{"62xx", D::iso, K::warning, "warning: state unchanged", kIso},
    StatusWordRow{"6200", D::iso, K::warning, "warning: state unchanged, no information", kIso},
    StatusWordRow{"6281", D::iso, K::warning, "warning: part of the data may be corrupted", kIso},
    StatusWordRow{"6282", D::iso, K::warning,
                  "warning: end of file or record reached before reading Ne bytes", kIso},
    StatusWordRow{"6283", D::iso, K::warning, "warning: selected file deactivated", kIso},
    StatusWordRow{"6284", D::iso, K::warning, "warning: file control information badly formatted",
                  kIso},
    StatusWordRow{"6285", D::iso, K::warning, "warning: selected file in termination state", kIso},
    StatusWordRow{"6286", D::iso, K::warning, "warning: no input data from a sensor", kIso},
    StatusWordRow{"63xx", D::iso, K::warning, "warning: state changed", kIso},
    StatusWordRow{"6300", D::iso, K::warning, "warning: state changed, no information", kIso},
    StatusWordRow{"6381", D::iso, K::warning, "warning: file filled up by the last write", kIso},
    StatusWordRow{"63Cx", D::iso, K::warning, "warning: counter value %n", kIso},
    StatusWordRow{"64xx", D::iso, K::execution_error, "execution error: state unchanged", kIso},
    StatusWordRow{"6401", D::iso, K::execution_error,
                  "execution error: immediate response required by the card", kIso},
    StatusWordRow{"65xx", D::iso, K::execution_error, "execution error: state changed", kIso},
    StatusWordRow{"6581", D::iso, K::execution_error, "execution error: memory failure", kIso},
    StatusWordRow{"66xx", D::iso, K::execution_error, "execution error: security-related", kIso},
    StatusWordRow{"6700", D::iso, K::checking_error, "wrong length", kIso},
    StatusWordRow{"67xx", D::iso, K::checking_error, "wrong length", kIso},
    StatusWordRow{"68xx", D::iso, K::checking_error, "function in CLA not supported", kIso},
    StatusWordRow{"6881", D::iso, K::checking_error, "logical channel not supported", kIso},
    StatusWordRow{"6882", D::iso, K::checking_error, "secure messaging not supported", kIso},
    StatusWordRow{"6883", D::iso, K::checking_error, "last command of the chain expected", kIso},
    StatusWordRow{"6884", D::iso, K::checking_error, "command chaining not supported", kIso},
    StatusWordRow{"69xx", D::iso, K::checking_error, "command not allowed", kIso},
    StatusWordRow{"6981", D::iso, K::checking_error, "command incompatible with file structure",
                  kIso},
    StatusWordRow{"6982", D::iso, K::checking_error, "security status not satisfied", kIso},
    StatusWordRow{"6983", D::iso, K::checking_error, "authentication method blocked", kIso},
    StatusWordRow{"6984", D::iso, K::checking_error, "reference data not usable", kIso},
    StatusWordRow{"6985", D::iso, K::checking_error, "conditions of use not satisfied", kIso},
    StatusWordRow{"6986", D::iso, K::checking_error, "command not allowed (no current EF)", kIso},
    StatusWordRow{"6987", D::iso, K::checking_error,
                  "expected secure messaging data objects missing", kIso},
    StatusWordRow{"6988", D::iso, K::checking_error, "incorrect secure messaging data objects",
                  kIso},
    StatusWordRow{"6Axx", D::iso, K::checking_error, "wrong parameters P1-P2", kIso},
    StatusWordRow{"6A80", D::iso, K::checking_error, "incorrect parameters in the data field",
                  kIso},
    StatusWordRow{"6A81", D::iso, K::checking_error, "function not supported", kIso},
    StatusWordRow{"6A82", D::iso, K::checking_error, "file or application not found", kIso},
    StatusWordRow{"6A83", D::iso, K::checking_error, "record not found", kIso},
    StatusWordRow{"6A84", D::iso, K::checking_error, "not enough memory space in the file", kIso},
    StatusWordRow{"6A85", D::iso, K::checking_error, "Nc inconsistent with TLV structure", kIso},
    StatusWordRow{"6A86", D::iso, K::checking_error, "incorrect parameters P1-P2", kIso},
    StatusWordRow{"6A87", D::iso, K::checking_error, "Nc inconsistent with parameters P1-P2", kIso},
    StatusWordRow{"6A88", D::iso, K::checking_error, "referenced data or reference data not found",
                  kIso},
    StatusWordRow{"6A89", D::iso, K::checking_error, "file already exists", kIso},
    StatusWordRow{"6A8A", D::iso, K::checking_error, "DF name already exists", kIso},
    StatusWordRow{"6B00", D::iso, K::checking_error, "wrong parameters P1-P2", kIso},
    StatusWordRow{"6Cxx", D::iso, K::checking_error, "wrong Le field; %n bytes available", kIso},
    StatusWordRow{"6C00", D::iso, K::checking_error, "wrong Le field; 256 bytes available", kIso},
    StatusWordRow{"6D00", D::iso, K::checking_error, "instruction not supported or invalid", kIso},
    StatusWordRow{"6E00", D::iso, K::checking_error, "class not supported", kIso},
    StatusWordRow{"6F00", D::iso, K::checking_error, "no precise diagnosis", kIso},

    StatusWordRow{"61xx", D::piv, K::success, "success; %n more bytes of data available", kPiv},
    StatusWordRow{"63Cx", D::piv, K::warning,
                  "verification failed; %n further retries (or resets) allowed", kPiv},
    StatusWordRow{"6882", D::piv, K::checking_error, "secure messaging not supported", kPiv},
    StatusWordRow{"6982", D::piv, K::checking_error,
                  "security status not satisfied (PIN or key authentication needed)", kPiv},
    StatusWordRow{"6983", D::piv, K::checking_error, "authentication method blocked", kPiv},
    StatusWordRow{"6A80", D::piv, K::checking_error, "incorrect parameter in command data field",
                  kPiv},
    StatusWordRow{"6A81", D::piv, K::checking_error, "function not supported", kPiv},
    StatusWordRow{"6A82", D::piv, K::checking_error, "data object or application not found", kPiv},
    StatusWordRow{"6A84", D::piv, K::checking_error, "not enough memory", kPiv},
    StatusWordRow{"6A86", D::piv, K::checking_error, "incorrect parameter in P1 or P2", kPiv},
    StatusWordRow{"6A88", D::piv, K::checking_error,
                  "referenced data or reference data not found (key or PIN reference)", kPiv},

    StatusWordRow{"6A80", D::cac, K::checking_error,
                  "incorrect data field; transitional CACs also answer this to GET DATA of a "
                  "PIV object they do not hold (PIV cards answer 6A82)",
                  kCac},
    StatusWordRow{"6A82", D::cac, K::checking_error, "applet or card object (SELECT) not found",
                  kCac},
    StatusWordRow{"6A86", D::cac, K::checking_error,
                  "incorrect P1-P2; for READ BUFFER the offset is past the buffer's end", kCac},
    StatusWordRow{"6A88", D::cac, K::checking_error,
                  "referenced data not found; for GET PROPERTIES a requested tag is absent", kCac},
};

// Value and mask of four pattern characters; false when one is neither hex nor x.
bool pattern_bits(std::string_view four, std::uint16_t& value, std::uint16_t& mask) {
    value = mask = 0;
    for (char c : four) {
        value <<= 4;
        mask <<= 4;
        if (c == 'x' || c == 'X')
            continue;
        int digit = apdu_text::hex_digit(c);
        if (digit < 0)
            return false;
        value |= std::uint16_t(digit);
        mask |= 0xf;
    }
    return true;
}

// The x digits of `sw` under `mask`, read as one number.
unsigned wildcard_value(StatusWord sw, std::uint16_t mask) {
    unsigned n = 0;
    for (int shift = 12; shift >= 0; shift -= 4) {
        if (((mask >> shift) & 0xf) == 0)
            n = n << 4 | ((sw.value() >> shift) & 0xf);
    }
    return n;
}

std::string fill_in(std::string_view text, unsigned n) {
    std::string out(text);
    auto at = out.find("%n");
    if (at != std::string::npos)
        out.replace(at, 2, std::to_string(n));
    return out;
}

// Each row's pattern as a value and a mask, read once: meaning() runs for every exchange a
// script makes, and reading the patterns again each time cost more than the transmit.
struct RowBits {
    bool valid = false;
    std::uint16_t value = 0;
    std::uint16_t mask = 0;
};

const std::array<RowBits, rows.size()>& row_bits() {
    static const std::array<RowBits, rows.size()> bits = [] {
        std::array<RowBits, rows.size()> table{};
        for (std::size_t i = 0; i < rows.size(); ++i)
            table[i].valid = pattern_bits(rows[i].pattern, table[i].value, table[i].mask);
        return table;
    }();
    return bits;
}

SwClass class_by_sw1(StatusWord sw) {
    if (sw.sw1 == 0x90 || sw.sw1 == 0x61)
        return SwClass::success;
    if (sw.sw1 == 0x62 || sw.sw1 == 0x63)
        return SwClass::warning;
    if (sw.sw1 >= 0x64 && sw.sw1 <= 0x66)
        return SwClass::execution_error;
    return SwClass::checking_error;
}

}  // namespace

std::string StatusWord::hex() const {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04X", unsigned(value()));
    return buf;
}

std::string_view to_string(SwClass value) {
    switch (value) {
        case SwClass::success:
            return "success";
        case SwClass::warning:
            return "warning";
        case SwClass::execution_error:
            return "execution error";
        case SwClass::checking_error:
            return "checking error";
    }
    return "checking error";
}

std::span<const StatusWordRow> status_word_table() {
    return rows;
}

SwMeaning meaning(StatusWord sw, SwDialect dialect) {
    const StatusWordRow* best = nullptr;
    int best_rank = -1;
    std::uint16_t best_mask = 0;
    const auto& bits = row_bits();
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const StatusWordRow& row = rows[i];
        std::uint16_t mask = bits[i].mask;
        if (!bits[i].valid || (sw.value() & mask) != bits[i].value)
            continue;
        if (row.dialect != SwDialect::iso && row.dialect != dialect)
            continue;
        // Fixed digits count most; the asked dialect breaks a tie with ISO.
        int rank = std::popcount(mask) * 2 + (row.dialect == dialect ? 1 : 0);
        if (rank > best_rank) {
            best = &row;
            best_rank = rank;
            best_mask = mask;
        }
    }
    if (best == nullptr)
        return {class_by_sw1(sw), "unknown status word " + sw.hex(), {}, {}};
    return {best->cls, fill_in(best->meaning, wildcard_value(sw, best_mask)), best->source,
            best->pattern};
}

std::optional<SwPattern> SwPattern::parse(std::string_view text) {
    std::string four;
    for (std::size_t i = 0; i < text.size(); ++i) {
        bool separator = (text[i] == ' ' || text[i] == ':') && i == 2 && text.size() == 5;
        if (!separator)
            four += text[i];
    }
    SwPattern pattern;
    if (four.size() != 4 || !pattern_bits(four, pattern.value_, pattern.mask_))
        return std::nullopt;
    return pattern;
}

std::string SwPattern::text() const {
    constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (int shift = 12; shift >= 0; shift -= 4) {
        bool fixed = ((mask_ >> shift) & 0xf) != 0;
        out += fixed ? digits[(value_ >> shift) & 0xf] : 'x';
    }
    return out;
}

}  // namespace cac
