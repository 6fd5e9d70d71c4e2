#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "core/util/time.hpp"

using namespace cac;

namespace {

// The expected values come from GNU date, which the test runs itself.
std::int64_t date_says(const std::string& text) {
    std::string command = "date -u -d '" + text + "' +%s";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    long long seconds = 0;
    REQUIRE(std::fscanf(pipe, "%lld", &seconds) == 1);
    pclose(pipe);
    return seconds;
}

}  // namespace

TEST_CASE("RFC 3339 times agree with date(1)") {
    for (const char* text : {"2026-12-04T15:30:00Z", "1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z",
                             "2051-06-01T12:00:00+02:00", "2013-03-01T00:00:00-05:30"}) {
        CAPTURE(text);
        CHECK(parse_rfc3339(text) == date_says(text));
    }
    CHECK(parse_rfc3339("2026-12-04") == date_says("2026-12-04T00:00:00Z"));
    CHECK(parse_rfc3339("2026-12-04T15:30:00.250Z") == date_says("2026-12-04T15:30:00Z"));
}

TEST_CASE("what is not an RFC 3339 time is refused") {
    for (const char* text : {"", "2026-13-01", "2026-02-30", "2025-02-29", "2026-12-04T25:00:00Z",
                             "2026-12-04T10:00:00", "2026-12-04T10:00:00+0100", "yesterday",
                             "2026-12-04T10:00:00.Z", "2026-12-04T10:00:00Zjunk"}) {
        CAPTURE(text);
        CHECK_FALSE(parse_rfc3339(text).has_value());
    }
}

TEST_CASE("times are written in RFC 3339 with milliseconds, as date(1) writes them") {
    using namespace std::chrono;
    for (std::int64_t ms : {0LL, 1796419200123LL, 951868799999LL, -1LL}) {
        CAPTURE(ms);
        std::int64_t seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
        FILE* pipe =
            popen(("date -u -d @" + std::to_string(seconds) + " +%Y-%m-%dT%H:%M:%S").c_str(), "r");
        REQUIRE(pipe != nullptr);
        char text[64] = {};
        REQUIRE(std::fgets(text, sizeof text, pipe) != nullptr);
        pclose(pipe);
        std::string expected(text, std::strcspn(text, "\n"));
        char millis[8];
        std::snprintf(millis, sizeof millis, ".%03dZ", int(ms - seconds * 1000));
        CHECK(format_rfc3339_ms(system_clock::time_point(milliseconds(ms))) == expected + millis);
    }
}

TEST_CASE("durations: a whole number and one unit") {
    using std::chrono::seconds;
    CHECK(parse_duration("90s") == seconds(90));
    CHECK(parse_duration("30m") == seconds(1800));
    CHECK(parse_duration("24h") == seconds(86400));
    CHECK(parse_duration("7d") == seconds(604800));
    CHECK(parse_duration("2w") == seconds(1209600));
    CHECK(parse_duration("0h", ZeroLength::allowed) == seconds(0));
    CHECK(parse_duration("0s", ZeroLength::allowed) == seconds(0));
    CHECK_FALSE(parse_duration("-1h", ZeroLength::allowed).has_value());
    CHECK_FALSE(parse_duration("-0h", ZeroLength::allowed).has_value());
    for (const char* text : {"", "h", "0h", "-0h", "-1h", "+1h", "1.5h", "1 h", "1H", "1y", "h1",
                             "99999999999999999999d", "40000d"}) {
        CAPTURE(text);
        CHECK_FALSE(parse_duration(text).has_value());
    }
}
