#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cac {

// Seconds since the Unix epoch of an RFC 3339 date-time ("2026-12-04T15:30:00Z",
// "2026-12-04T10:30:00.5-05:00"), or of a full date alone ("2026-12-04", midnight UTC).
// nullopt for anything else, including impossible dates such as February 30.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

// RFC 3339 in UTC with milliseconds, "2026-12-04T21:00:00.123Z": the same whatever the
// local zone, and text order is time order.
std::string format_rfc3339_ms(std::chrono::system_clock::time_point time);

// Whether "0s", "0h" and the like are a length: a span that things must happen within
// (a pattern's window) cannot be empty, while "0h ago" is simply now.
enum class ZeroLength { refused, allowed };

// A length of time as an operator types it: a whole number and one unit, s, m, h, d or w
// ("90s", "30m", "24h", "7d", "2w"). nullopt for anything else, a negative length, one
// beyond 100 years, or a zero length unless `zero` allows it.
std::optional<std::chrono::seconds> parse_duration(std::string_view text,
                                                   ZeroLength zero = ZeroLength::refused);

}  // namespace cac
