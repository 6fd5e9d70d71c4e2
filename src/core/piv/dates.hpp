// The two ways PIV objects write a date, read as RFC 3339 full-dates ("2032-12-02"), the
// form cactool's JSON gives dates in (SPEC.md: times are RFC 3339).
//
// SP 800-73-4 part 1: the CHUID's expiration date (tag 35) is YYYYMMDD, digits only; the
// printed information's (tag 04) is YYYYMMMDD with the month's three-letter English
// abbreviation, as printed on the card's face ("2032DEC02").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cac::piv {

// nullopt when the text is not of the form, or names no day of the calendar (20320231).
std::optional<std::string> date_from_yyyymmdd(std::string_view text);
// The month's abbreviation in upper or lower case.
std::optional<std::string> date_from_yyyymmmdd(std::string_view text);

}  // namespace cac::piv
