#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cac {

// Seconds since the Unix epoch of an RFC 3339 date-time ("2026-12-04T15:30:00Z",
// "2026-12-04T10:30:00.5-05:00"), or of a full date alone ("2026-12-04", midnight UTC).
// nullopt for anything else, including impossible dates such as February 30.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

}  // namespace cac
