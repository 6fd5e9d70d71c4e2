// The configuration file: JSON, found by --config, then $XDG_CONFIG_HOME/cactool/config.json
// (or ~/.config when XDG_CONFIG_HOME is unset), then /etc/cactool/config.json.
//
// A file with a key this version does not know still loads (the key is reported as a
// warning, so a config written for a newer cactool keeps working); malformed JSON or a
// value of the wrong type is an error that names the line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cac {

struct RetryPolicy {
    int max_attempts = 3;
    int base_delay_ms = 100;
    int max_delay_ms = 2000;
};

// errors-report's recurring patterns: the same code and operation at least
// `pattern_count` times within `pattern_window_seconds`. Unset: the command's defaults.
struct ReportSettings {
    std::optional<int> pattern_count;
    std::optional<std::int64_t> pattern_window_seconds;
};

struct Config {
    std::string path;  // where it was read from; empty when no file was found

    std::optional<std::string> module;      // default module: a path or a p11-kit name
    std::vector<std::string> module_paths;  // extra folders searched for modules
    std::optional<double> timeout_seconds;
    // login refuses when the tries left are at or below this (1: refuse at final try).
    int lockout_threshold = 1;
    std::optional<std::string> ca_file;
    std::optional<std::string> ca_dir;
    std::optional<std::string> journal_path;
    std::optional<std::uint64_t> journal_max_bytes;
    RetryPolicy retry;
    ReportSettings errors_report;

    std::vector<std::string> warnings;  // unknown keys and the like, for the CLI to log
};

// The bound on card operations, whichever of its three sources sets it (--timeout,
// CAC_CARD_TIMEOUT, the file's timeout_seconds): above 0 and at most an hour. 0 is refused
// everywhere rather than read as "no bound": a run that never ends is what --timeout is
// there to prevent, and an operator who writes 0 more likely meant something else.
inline constexpr double max_timeout_seconds = 3600;
// The rule in words, for the message that refuses a value.
inline constexpr const char* timeout_rule = "a number of seconds above 0 and at most 3600";
[[nodiscard]] bool timeout_in_range(double seconds);
// The text of --timeout or CAC_CARD_TIMEOUT: a decimal number ("30", "1.5", "2e1") in
// range, with nothing around it; nullopt for anything else.
[[nodiscard]] std::optional<double> parse_timeout_seconds(std::string_view text);

// Parses the text of a config file; `origin` names it in messages. Throws
// cac::Error(CoreCode::config_invalid) naming the line of the problem.
Config parse_config(std::string_view text, const std::string& origin);

// Reads and parses `path`. Throws config_invalid (or io_error when it cannot be read).
Config load_config_file(const std::string& path);

// The file to use when --config is not given: the first of the default locations that
// exists, or nullopt. `xdg_config_home` and `home` are the environment's values (may be
// empty).
std::optional<std::string> find_default_config(
    std::string_view xdg_config_home, std::string_view home,
    std::string_view system_path = "/etc/cactool/config.json");

}  // namespace cac
