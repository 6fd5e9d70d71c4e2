// Logging on stderr: one whole line per event, lower case, tagged with a category.
//
// The core never prints anything else. The CLI sets the level from -v/-q/CAC_DEBUG and
// turns tracing on with --trace; with tracing off, trace lines are never formatted.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace cac::log {

enum class Level { quiet = 0, warning = 1, info = 2, debug = 3 };

void set_level(Level level);
Level level();
void set_trace(bool enabled);
bool tracing();

// Where lines go; stderr unless a test replaces it.
void set_sink(std::function<void(std::string_view line)> sink);

// category is one of "pkcs11", "pcsc", "apdu", "config", "journal", "x509", "cli".
void warning(std::string_view category, std::string_view message);
void info(std::string_view category, std::string_view message);
void debug(std::string_view category, std::string_view message);
// Written only with --trace; callers check tracing() first to skip formatting.
void trace(std::string_view category, std::string_view message);

}  // namespace cac::log
