// scriptor scripts (pcsc-tools' own example and the forms its reader accepts) and
// cactool's `=> SW` expectations.
#include <doctest/doctest.h>

#include <string>

#include "core/apdu/script.hpp"
#include "core/util/error.hpp"

using namespace cac;

namespace {

std::string script_error(const std::string& text) {
    try {
        (void)parse_script(text);
    } catch (const Error& e) {
        CHECK(e.taxonomy().category == Category::usage);
        return e.reason();
    }
    FAIL("no error for: " << text);
    return {};
}

}  // namespace

TEST_CASE("pcsc-tools' example script reads unchanged") {
    // The GSM SIM example that ships with scriptor (test.script), comments and all.
    Script s = parse_script(
        "#\n# Script to read a GSM SIM card\n\n# reset the card\nreset\n\n"
        "# Select MF 3F00\nA0 A4 00 00 02 3F 00\n\n# Get Response\nA0 C0 00 00 17\n");
    REQUIRE(s.steps.size() == 3);
    CHECK(s.steps[0].kind == ScriptStep::Kind::reset);
    CHECK(s.steps[0].line == 5);
    CHECK(s.steps[1].command.encode() == Bytes{0xA0, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00});
    CHECK(s.steps[1].line == 8);
    CHECK(s.steps[2].command.ne == 0x17u);
    CHECK_FALSE(s.exited);
}

TEST_CASE("unspaced hex, CRLF, continuation lines and exit") {
    Script s = parse_script(
        "00A4040009A0000003080000100000\r\n"
        "00 DB 3F FF 05 \\\n  5C 03 5F C1 05\n"
        "RESET\n"
        "exit\n"
        "this line is never read\n");
    REQUIRE(s.steps.size() == 3);
    CHECK(s.steps[0].command.data.size() == 9);
    CHECK(s.steps[1].command.data == Bytes{0x5C, 0x03, 0x5F, 0xC1, 0x05});
    CHECK(s.steps[1].line == 2);
    CHECK(s.steps[2].kind == ScriptStep::Kind::reset);
    CHECK(s.exited);
}

TEST_CASE("expectations after =>") {
    Script s = parse_script(
        "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 => 9000\n"
        "00 CB 3F FF 05 5C 03 5F C1 09 00 => 90 00 | 6982\n"
        "00 20 00 80 =>63cx\n"
        "00 20 00 80\n");
    REQUIRE(s.steps.size() == 4);
    CHECK(s.steps[0].expect.size() == 1);
    CHECK(s.steps[0].accepts(StatusWord::of(0x9000)));
    CHECK_FALSE(s.steps[0].accepts(StatusWord::of(0x6A82)));
    CHECK(s.steps[1].accepts(StatusWord::of(0x6982)));
    CHECK(s.steps[2].accepts(StatusWord::of(0x63C2)));
    CHECK_FALSE(s.steps[2].accepts(StatusWord::of(0x6300)));
    CHECK(s.steps[3].expect.empty());
    CHECK(s.steps[3].accepts(StatusWord::of(0x6D00)));
}

TEST_CASE("malformed scripts name line and column") {
    CHECK(script_error("# fine\n00 A4 04 0G\n").find("line 2, column 11:") == 0);
    CHECK(script_error("00 A4 04 00 05 3F 00\n").find("line 1, column 13:") == 0);
    CHECK(script_error("00 A4 04 00 0\n").find("line 1, column 13:") == 0);
    CHECK(script_error("00 A4 04 00 => 90\n").find("line 1, column 16:") == 0);
    CHECK(script_error("00 A4 04 00 => 9000 | zz\n").find("line 1, column 23:") == 0);
    // The bad byte is on the continued line.
    CHECK(script_error("00 DB 3F FF 03 \\\n 01 0X 03\n").find("line 2, column 6:") == 0);
    CHECK(script_error("00 DB 3F FF 03 \\\n").find("ends inside a command") != std::string::npos);
    CHECK(script_error("00 DB 3F FF 03 \\\n\n01 02 03\n").find("line 2, column 1:") == 0);
    CHECK(script_error("00 A4 => 9000 \\\n").find("last line") != std::string::npos);
    CHECK(script_error("00 A4 04 00 # select\n").find("'#' is not a hex digit") !=
          std::string::npos);
}
