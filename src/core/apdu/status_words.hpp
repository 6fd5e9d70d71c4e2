// Status words: the two bytes SW1 SW2 that end every response APDU, and what they mean.
//
// The meanings are kept as data, one row per pattern ("9000", "63Cx", "6Axx"), from
// ISO/IEC 7816-4:2013 clause 5.6, NIST SP 800-73-4 part 2 table 6 (PIV), and what DoD CAC
// (GSC-IS 2.1) applets answer where that differs. A pattern's lower-case `x` stands for
// any hex digit; the most specific row of the asked dialect wins, then ISO's.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cac {

struct StatusWord {
    std::uint8_t sw1 = 0;
    std::uint8_t sw2 = 0;

    constexpr std::uint16_t value() const { return std::uint16_t(sw1 << 8 | sw2); }
    static constexpr StatusWord of(std::uint16_t value) {
        return {std::uint8_t(value >> 8), std::uint8_t(value & 0xff)};
    }
    // "9000", "6A82": upper case, as cards' documentation spells them.
    std::string hex() const;
    friend constexpr bool operator==(StatusWord, StatusWord) = default;
};

// ISO/IEC 7816-4 clause 5.6 groups status words into processing outcomes; 61xx is normal
// processing (the data continues), so it counts as success.
enum class SwClass { success, warning, execution_error, checking_error };

std::string_view to_string(SwClass value);

// Which card family's reading to prefer: some status words mean more on one of them.
enum class SwDialect { iso, piv, cac };

struct StatusWordRow {
    std::string_view pattern;  // four characters: hex digits or 'x'
    SwDialect dialect;
    SwClass cls;
    std::string_view meaning;  // "%n" stands for the value of the pattern's x digits
    std::string_view source;   // the clause or table it comes from
};

std::span<const StatusWordRow> status_word_table();

struct SwMeaning {
    SwClass cls = SwClass::checking_error;
    std::string text;
    std::string_view source;
    std::string_view pattern;  // the row that matched; empty when none did
};

SwMeaning meaning(StatusWord sw, SwDialect dialect = SwDialect::piv);

// "9000", "61xx", "63Cx": a status word pattern as scripts and --expect write it
// (an optional space or colon between the two bytes; x or X for any digit).
class SwPattern {
  public:
    // nullopt when `text` is not four hex digits or x's.
    static std::optional<SwPattern> parse(std::string_view text);
    bool matches(StatusWord sw) const { return (sw.value() & mask_) == value_; }
    std::string text() const;  // "61xx"
    friend bool operator==(const SwPattern&, const SwPattern&) = default;

  private:
    std::uint16_t value_ = 0;
    std::uint16_t mask_ = 0;
};

}  // namespace cac
