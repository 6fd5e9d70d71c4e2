#include <doctest/doctest.h>

#include "core/util/config.hpp"
#include "core/util/error.hpp"

using namespace cac;

namespace {

std::string failure_of(std::string_view text) {
    try {
        parse_config(text, "config.json");
    } catch (const Error& e) {
        CHECK(e.is(CoreCode::config_invalid));
        return e.reason();
    }
    return "no failure";
}

}  // namespace

TEST_CASE("a complete config file is read") {
    Config config = parse_config(R"({
        "module": "opensc",
        "module_paths": ["/opt/lib"],
        "timeout_seconds": 12.5,
        "lockout_threshold": 2,
        "trust_anchors": {"ca_file": "/etc/ca.pem", "ca_dir": "/etc/ca"},
        "journal": {"path": "/tmp/j.jsonl", "max_bytes": 100000},
        "retry": {"max_attempts": 5, "base_delay_ms": 50, "max_delay_ms": 900},
        "errors_report": {"pattern_count": 4, "pattern_window": "90m"}
    })",
                                 "config.json");
    CHECK(config.module == "opensc");
    CHECK(config.module_paths == std::vector<std::string>{"/opt/lib"});
    CHECK(config.timeout_seconds == 12.5);
    CHECK(config.lockout_threshold == 2);
    CHECK(config.ca_file == "/etc/ca.pem");
    CHECK(config.ca_dir == "/etc/ca");
    CHECK(config.journal_path == "/tmp/j.jsonl");
    CHECK(config.journal_max_bytes == 100000u);
    CHECK(config.retry.max_attempts == 5);
    CHECK(config.retry.max_delay_ms == 900);
    CHECK(config.errors_report.pattern_count == 4);
    CHECK(config.errors_report.pattern_window_seconds == 5400);
    CHECK(config.warnings.empty());
}

TEST_CASE("unknown keys are warnings, not errors") {
    Config config = parse_config(R"({"modul": "x", "journal": {"colour": 1}})", "c.json");
    REQUIRE(config.warnings.size() == 2);
    CHECK(config.warnings[0].find("\"journal.colour\"") != std::string::npos);
    CHECK(config.warnings[1].find("\"modul\"") != std::string::npos);
}

TEST_CASE("malformed JSON is an error naming the line") {
    CHECK(
        failure_of("{\n  \"module\": \"x\",\n  \"timeout_seconds\": ,\n}").find("config.json:3:") ==
        0);
    CHECK(failure_of("{\n\"module\": \"x\"").find("config.json:2:") == 0);
    CHECK(failure_of("[1, 2]").find("top level must be a JSON object") != std::string::npos);
}

TEST_CASE("a value of the wrong type names its key and line") {
    CHECK(failure_of("{\n\n \"timeout_seconds\": \"ten\"}") ==
          "config.json:3: \"timeout_seconds\" must be a number of seconds above 0 and at most "
          "3600");
    CHECK(failure_of("{\"lockout_threshold\": 99}").find("between 0 and 15") != std::string::npos);
    CHECK(failure_of("{\"module_paths\": \"/opt\"}").find("list of strings") != std::string::npos);
}

TEST_CASE("timeout_seconds follows the rule of --timeout: above 0, at most an hour") {
    CHECK(parse_config(R"({"timeout_seconds": 3600})", "c.json").timeout_seconds == 3600);
    CHECK(parse_config(R"({"timeout_seconds": 0.25})", "c.json").timeout_seconds == 0.25);
    for (const char* refused : {"0", "-1", "3600.5", "1e9", "true"}) {
        CAPTURE(refused);
        CHECK(failure_of(std::string("{\"timeout_seconds\": ") + refused + "}") ==
              "config.json:1: \"timeout_seconds\" must be a number of seconds above 0 and at "
              "most 3600");
    }
}

TEST_CASE("--timeout and CAC_CARD_TIMEOUT are read as the config file's value is") {
    CHECK(parse_timeout_seconds("30") == 30.0);
    CHECK(parse_timeout_seconds("1.5") == 1.5);
    CHECK(parse_timeout_seconds("2e1") == 20.0);
    CHECK(parse_timeout_seconds("3600") == 3600.0);
    for (const char* refused :
         {"0", "0.0", "-5", "3600.001", "", " 5", "5 ", "5s", "soon", "inf", "nan", "0x10", "+5"}) {
        CAPTURE(refused);
        CHECK_FALSE(parse_timeout_seconds(refused).has_value());
    }
}

TEST_CASE("errors-report's pattern settings are checked like the command's options") {
    CHECK(failure_of("{\"errors_report\": {\"pattern_count\": 1}}").find("between 2 and") !=
          std::string::npos);
    CHECK(failure_of("{\"errors_report\": {\"pattern_window\": \"an hour\"}}")
              .find("\"pattern_window\" must be a duration") != std::string::npos);
    CHECK(failure_of("{\"errors_report\": {\"pattern_window\": 3600}}").find("must be a string") !=
          std::string::npos);
}

TEST_CASE("an oversized file is refused before parsing") {
    std::string huge(2 << 20, ' ');
    CHECK(failure_of(huge).find("larger than") != std::string::npos);
}

TEST_CASE("a number too large for a double is refused, not a crash") {
    // Found by the config fuzz target: nlohmann reports it as out_of_range, not a parse error.
    CHECK(failure_of("3e442").find("malformed JSON") != std::string::npos);
    CHECK(failure_of("{\"timeout_seconds\": 1e999}").find("malformed JSON") != std::string::npos);
}

TEST_CASE("a NUL byte in the file is refused, naming its line") {
    using namespace std::string_view_literals;
    CHECK(failure_of("{\"module\": \"x\"}\n\0garbage"sv) == "config.json:2: a NUL byte");
}
