#include "core/util/time.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace cac {
namespace {

// Reads exactly `digits` decimal digits at `pos`.
std::optional<int> number_at(std::string_view text, std::size_t pos, std::size_t digits) {
    if (pos + digits > text.size())
        return std::nullopt;
    int value = 0;
    for (std::size_t i = pos; i < pos + digits; ++i) {
        if (text[i] < '0' || text[i] > '9')
            return std::nullopt;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

bool is_leap(int year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int days_in_month(int year, int month) {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

// Days from 1970-01-01 to the given civil date (proleptic Gregorian calendar).
std::int64_t days_from_civil(int year, int month, int day) {
    year -= month <= 2 ? 1 : 0;
    const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    const std::int64_t year_of_era = year - era * 400;
    const std::int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    const std::int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

// The offset part: "Z", "+HH:MM" or "-HH:MM", in seconds east of UTC.
std::optional<int> offset_at(std::string_view text, std::size_t pos) {
    if (pos == text.size() - 1 && (text[pos] == 'Z' || text[pos] == 'z'))
        return 0;
    if (pos + 6 != text.size() || (text[pos] != '+' && text[pos] != '-') || text[pos + 3] != ':') {
        return std::nullopt;
    }
    auto hours = number_at(text, pos + 1, 2);
    auto minutes = number_at(text, pos + 4, 2);
    if (!hours || !minutes || *hours > 23 || *minutes > 59)
        return std::nullopt;
    int seconds = *hours * 3600 + *minutes * 60;
    return text[pos] == '-' ? -seconds : seconds;
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339(std::string_view text) {
    auto year = number_at(text, 0, 4);
    auto month = number_at(text, 5, 2);
    auto day = number_at(text, 8, 2);
    if (!year || !month || !day || text[4] != '-' || text[7] != '-')
        return std::nullopt;
    if (*month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month)) {
        return std::nullopt;
    }
    std::int64_t days = days_from_civil(*year, *month, *day);
    if (text.size() == 10)
        return days * 86400;

    if (text.size() < 20 || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
        text[13] != ':' || text[16] != ':') {
        return std::nullopt;
    }
    auto hour = number_at(text, 11, 2);
    auto minute = number_at(text, 14, 2);
    auto second = number_at(text, 17, 2);
    // 60 is a leap second; it is read as the first second of the next minute.
    if (!hour || !minute || !second || *hour > 23 || *minute > 59 || *second > 60) {
        return std::nullopt;
    }
    std::size_t pos = 19;
    if (text[pos] == '.') {
        std::size_t digits = pos + 1;
        while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
            ++digits;
        if (digits == pos + 1)
            return std::nullopt;
        pos = digits;
    }
    auto offset = offset_at(text, pos);
    if (!offset)
        return std::nullopt;
    return days * 86400 + *hour * 3600 + *minute * 60 + *second - *offset;
}

std::string format_rfc3339_ms(std::chrono::system_clock::time_point time) {
    using namespace std::chrono;
    // floor, not a cast: a time before 1970 must not round towards it.
    auto ms = floor<milliseconds>(time.time_since_epoch());
    auto seconds = floor<std::chrono::seconds>(ms);
    std::time_t whole = std::time_t(seconds.count());
    std::tm utc{};
    gmtime_r(&whole, &utc);
    char text[48];
    std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(text + n, sizeof text - n, ".%03dZ", int((ms - seconds).count()));
    return text;
}

std::optional<std::chrono::seconds> parse_duration(std::string_view text, ZeroLength zero) {
    if (text.size() < 2)
        return std::nullopt;
    constexpr std::string_view units = "smhdw";
    constexpr std::int64_t unit_seconds[] = {1, 60, 3600, 86400, 7 * 86400};
    std::size_t which = units.find(text.back());
    if (which == std::string_view::npos)
        return std::nullopt;
    const std::int64_t unit = unit_seconds[which];
    std::string_view digits = text.substr(0, text.size() - 1);
    if (digits.front() < '0' || digits.front() > '9')
        return std::nullopt;  // from_chars would take "-0" for a zero
    std::int64_t count = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
    constexpr std::int64_t hundred_years = 100LL * 366 * 86400;
    const std::int64_t least = zero == ZeroLength::allowed ? 0 : 1;
    if (error != std::errc() || end != digits.data() + digits.size() || count < least ||
        count > hundred_years / unit) {
        return std::nullopt;
    }
    return std::chrono::seconds(count * unit);
}

}  // namespace cac
