#include "core/util/config.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/util/error.hpp"
#include "core/util/file_read.hpp"
#include "core/util/time.hpp"

namespace cac {
namespace {

using nlohmann::json;

// The files this tool reads are small; anything larger is a mistake (or an attack on a
// parser), so it is refused before parsing.
constexpr std::size_t max_config_bytes = 1 << 20;

std::size_t line_of(std::string_view text, std::size_t byte) {
    byte = std::min(byte, text.size());
    return 1 + std::size_t(std::count(text.begin(), text.begin() + long(byte), '\n'));
}

// The line on which a top-level key's value starts, for messages about bad values.
std::size_t line_of_key(std::string_view text, const std::string& key) {
    std::size_t at = text.find("\"" + key + "\"");
    return at == std::string_view::npos ? 0 : line_of(text, at);
}

class Reader {
  public:
    Reader(std::string_view text, const std::string& origin) : text_(text), origin_(origin) {}

    [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
        std::string where = origin_;
        if (std::size_t line = line_of_key(text_, key); line != 0) {
            where += ":" + std::to_string(line);
        }
        throw Error(CoreCode::config_invalid, "read config file",
                    where + ": \"" + key + "\" " + problem);
    }

    std::string string(const json& value, const std::string& key) const {
        if (!value.is_string())
            fail(key, "must be a string");
        return value.get<std::string>();
    }

    double number(const json& value, const std::string& key, double min, double max) const {
        if (!value.is_number())
            fail(key, "must be a number");
        double n = value.get<double>();
        if (!(n >= min && n <= max)) {
            fail(key, "must be between " + format(min) + " and " + format(max));
        }
        return n;
    }

    // The rule --timeout and CAC_CARD_TIMEOUT follow too.
    double timeout(const json& value, const std::string& key) const {
        if (!value.is_number() || !timeout_in_range(value.get<double>()))
            fail(key, std::string("must be ") + timeout_rule);
        return value.get<double>();
    }

    int integer(const json& value, const std::string& key, int min, int max) const {
        if (!value.is_number_integer())
            fail(key, "must be a whole number");
        return int(number(value, key, min, max));
    }

    std::vector<std::string> strings(const json& value, const std::string& key) const {
        if (!value.is_array())
            fail(key, "must be a list of strings");
        std::vector<std::string> list;
        for (const json& item : value)
            list.push_back(string(item, key));
        return list;
    }

    void object(const json& value, const std::string& key) const {
        if (!value.is_object())
            fail(key, "must be an object");
    }

  private:
    static std::string format(double n) {
        std::ostringstream out;
        out << n;
        return out.str();
    }

    std::string_view text_;
    const std::string& origin_;
};

void read_trust_anchors(const Reader& in, const json& value, Config& config) {
    in.object(value, "trust_anchors");
    for (const auto& [key, item] : value.items()) {
        if (key == "ca_file") {
            config.ca_file = in.string(item, key);
        } else if (key == "ca_dir") {
            config.ca_dir = in.string(item, key);
        } else {
            config.warnings.push_back("unknown config key \"trust_anchors." + key + "\"");
        }
    }
}

void read_journal(const Reader& in, const json& value, Config& config) {
    in.object(value, "journal");
    for (const auto& [key, item] : value.items()) {
        if (key == "path") {
            config.journal_path = in.string(item, key);
        } else if (key == "max_bytes") {
            config.journal_max_bytes = std::uint64_t(in.number(item, key, 4096, 1e12));
        } else {
            config.warnings.push_back("unknown config key \"journal." + key + "\"");
        }
    }
}

void read_retry(const Reader& in, const json& value, Config& config) {
    in.object(value, "retry");
    for (const auto& [key, item] : value.items()) {
        if (key == "max_attempts") {
            config.retry.max_attempts = in.integer(item, key, 1, 20);
        } else if (key == "base_delay_ms") {
            config.retry.base_delay_ms = in.integer(item, key, 0, 60000);
        } else if (key == "max_delay_ms") {
            config.retry.max_delay_ms = in.integer(item, key, 0, 600000);
        } else {
            config.warnings.push_back("unknown config key \"retry." + key + "\"");
        }
    }
}

void read_errors_report(const Reader& in, const json& value, Config& config) {
    in.object(value, "errors_report");
    for (const auto& [key, item] : value.items()) {
        if (key == "pattern_count") {
            config.errors_report.pattern_count = in.integer(item, key, 2, 10000);
        } else if (key == "pattern_window") {
            // The same spelling as --pattern-window: "30m", "1h", "7d".
            auto window = parse_duration(in.string(item, key));
            if (!window)
                in.fail(key, "must be a duration such as 30m, 1h or 7d");
            config.errors_report.pattern_window_seconds = window->count();
        } else {
            config.warnings.push_back("unknown config key \"errors_report." + key + "\"");
        }
    }
}

void read_key(const Reader& in, const std::string& key, const json& value, Config& config) {
    if (key == "module") {
        config.module = in.string(value, key);
    } else if (key == "module_paths") {
        config.module_paths = in.strings(value, key);
    } else if (key == "timeout_seconds") {
        config.timeout_seconds = in.timeout(value, key);
    } else if (key == "lockout_threshold") {
        config.lockout_threshold = in.integer(value, key, 0, 15);
    } else if (key == "trust_anchors") {
        read_trust_anchors(in, value, config);
    } else if (key == "journal") {
        read_journal(in, value, config);
    } else if (key == "retry") {
        read_retry(in, value, config);
    } else if (key == "errors_report") {
        read_errors_report(in, value, config);
    } else {
        config.warnings.push_back("unknown config key \"" + key + "\"");
    }
}

}  // namespace

bool timeout_in_range(double seconds) {
    return seconds > 0 && seconds <= max_timeout_seconds;
}

std::optional<double> parse_timeout_seconds(std::string_view text) {
    double seconds = 0;
    const char* end = text.data() + text.size();
    auto [stop, ec] = std::from_chars(text.data(), end, seconds);
    if (ec != std::errc() || stop != end || !timeout_in_range(seconds))
        return std::nullopt;
    return seconds;
}

Config parse_config(std::string_view text, const std::string& origin) {
    if (text.size() > max_config_bytes) {
        throw Error(CoreCode::config_invalid, "read config file",
                    origin + ": larger than " + std::to_string(max_config_bytes) + " bytes");
    }
    if (std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
        // A NUL would end the text early for some readers and not others: refuse it.
        throw Error(CoreCode::config_invalid, "read config file",
                    origin + ":" + std::to_string(line_of(text, nul)) + ": a NUL byte");
    }
    json document;
    try {
        document = json::parse(text);
    } catch (const json::parse_error& e) {
        // nlohmann reports the byte offset just past the problem; an operator wants a line.
        std::size_t line = line_of(text, e.byte == 0 ? 0 : e.byte - 1);
        std::string detail = e.what();
        if (std::size_t at = detail.find("syntax error"); at != std::string::npos) {
            detail = detail.substr(at);
        }
        throw Error(CoreCode::config_invalid, "read config file",
                    origin + ":" + std::to_string(line) + ": malformed JSON: " + detail);
    } catch (const json::exception& e) {
        // Valid syntax that nlohmann cannot represent, such as a number beyond a double.
        std::string detail = e.what();
        if (std::size_t at = detail.find("] "); at != std::string::npos) {
            detail = detail.substr(at + 2);
        }
        throw Error(CoreCode::config_invalid, "read config file",
                    origin + ": malformed JSON: " + detail);
    }
    if (!document.is_object()) {
        throw Error(CoreCode::config_invalid, "read config file",
                    origin + ":1: the top level must be a JSON object");
    }
    Config config;
    config.path = origin;
    Reader reader(text, origin);
    for (const auto& [key, value] : document.items()) {
        read_key(reader, key, value, config);
    }
    return config;
}

Config load_config_file(const std::string& path) {
    FileRead read = read_bounded_file(path, max_config_bytes);
    if (read.problem == FileRead::Problem::is_directory) {
        throw Error(CoreCode::config_invalid, "read config file", path + " is a directory");
    }
    if (read.problem != FileRead::Problem::none) {
        // A config file that was named or found but cannot be read is a setup mistake the
        // operator must fix, like a malformed one: exit 2, with the system's reason.
        throw Error(CoreCode::config_invalid, "read config file",
                    path + ": " + problem_text(read, max_config_bytes));
    }
    return parse_config(read.content, path);
}

std::optional<std::string> find_default_config(std::string_view xdg_config_home,
                                               std::string_view home,
                                               std::string_view system_path) {
    std::vector<std::string> candidates;
    if (!xdg_config_home.empty()) {
        candidates.push_back(std::string(xdg_config_home) + "/cactool/config.json");
    } else if (!home.empty()) {
        candidates.push_back(std::string(home) + "/.config/cactool/config.json");
    }
    candidates.emplace_back(system_path);
    for (const std::string& candidate : candidates) {
        std::error_code ec;
        if (std::filesystem::is_regular_file(candidate, ec))
            return candidate;
    }
    return std::nullopt;
}

}  // namespace cac
