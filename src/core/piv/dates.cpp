#include "core/piv/dates.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

namespace cac::piv {
namespace {

// The value of text[from, from + count) as a number, or -1 when it is not all digits.
int number_at(std::string_view text, std::size_t from, std::size_t count) {
    int value = 0;
    for (char c : text.substr(from, count)) {
        if (!std::isdigit(static_cast<unsigned char>(c)))
            return -1;
        value = value * 10 + (c - '0');
    }
    return value;
}

bool leap(int year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

std::optional<std::string> calendar_date(int year, int month, int day) {
    static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 0 || month < 1 || month > 12 || day < 1)
        return std::nullopt;
    int days = kDays[std::size_t(month - 1)] + (month == 2 && leap(year) ? 1 : 0);
    if (day > days)
        return std::nullopt;
    char text[40];  // room for any int, though year has four digits here
    std::snprintf(text, sizeof text, "%04d-%02d-%02d", year, month, day);
    return std::string(text);
}

}  // namespace

std::optional<std::string> date_from_yyyymmdd(std::string_view text) {
    if (text.size() != 8)
        return std::nullopt;
    return calendar_date(number_at(text, 0, 4), number_at(text, 4, 2), number_at(text, 6, 2));
}

std::optional<std::string> date_from_yyyymmmdd(std::string_view text) {
    static constexpr std::array<std::string_view, 12> kMonths{
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    if (text.size() != 9)
        return std::nullopt;
    std::string month(text.substr(4, 3));
    for (char& c : month)
        c = char(std::toupper(static_cast<unsigned char>(c)));
    auto found = std::find(kMonths.begin(), kMonths.end(), month);
    if (found == kMonths.end())
        return std::nullopt;
    return calendar_date(number_at(text, 0, 4), int(found - kMonths.begin()) + 1,
                         number_at(text, 7, 2));
}

}  // namespace cac::piv
