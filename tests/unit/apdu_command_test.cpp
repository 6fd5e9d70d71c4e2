// Command APDUs against the byte layouts of ISO/IEC 7816-4:2013 clause 5.1, written out
// by hand below.
#include <doctest/doctest.h>

#include <string>

#include "core/apdu/command.hpp"
#include "core/util/error.hpp"

using namespace cac;

namespace {

// The reason of the parse error `text` raises ("at position N: ...").
std::string parse_error(const std::string& text) {
    try {
        (void)ApduCommand::parse(text);
    } catch (const Error& e) {
        CHECK(e.taxonomy().category == Category::usage);
        return e.reason();
    }
    FAIL("no error for: " << text);
    return {};
}

Bytes filled(std::size_t n, std::uint8_t value) {
    return Bytes(n, value);
}

}  // namespace

TEST_CASE("the four cases in short form") {
    // Case 1: CLA INS P1 P2.
    CHECK(ApduCommand::make(0x00, 0x20, 0x00, 0x80).encode() == Bytes{0x00, 0x20, 0x00, 0x80});
    // Case 2S: header, Le; Le 256 is written 00.
    CHECK(ApduCommand::make(0x00, 0xC0, 0, 0, {}, 256).encode() == Bytes{0x00, 0xC0, 0, 0, 0x00});
    CHECK(ApduCommand::make(0x00, 0xC0, 0, 0, {}, 0x17).encode() == Bytes{0x00, 0xC0, 0, 0, 0x17});
    // Case 3S: header, Lc, data.
    CHECK(ApduCommand::make(0x00, 0xA4, 0x00, 0x00, {0x3F, 0x00}).encode() ==
          Bytes{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00});
    // Case 4S: header, Lc, data, Le.
    CHECK(ApduCommand::make(0x00, 0xCB, 0x3F, 0xFF, {0x5C, 0x01, 0x7E}, 256).encode() ==
          Bytes{0x00, 0xCB, 0x3F, 0xFF, 0x03, 0x5C, 0x01, 0x7E, 0x00});
}

TEST_CASE("the extended forms") {
    // Case 2E: 00 then Le in two bytes; 65536 is 0000.
    CHECK(ApduCommand::make(0x00, 0xB0, 0, 0, {}, 65536).encode() ==
          Bytes{0x00, 0xB0, 0, 0, 0x00, 0x00, 0x00});
    CHECK(ApduCommand::make(0x00, 0xB0, 0, 0, {}, 257).encode() ==
          Bytes{0x00, 0xB0, 0, 0, 0x00, 0x01, 0x01});
    // Case 3E: 00, Lc in two bytes, data.
    Bytes e3 = ApduCommand::make(0x00, 0xDB, 0x3F, 0xFF, filled(256, 0xAB)).encode();
    REQUIRE(e3.size() == 4 + 3 + 256);
    CHECK(Bytes(e3.begin(), e3.begin() + 7) == Bytes{0x00, 0xDB, 0x3F, 0xFF, 0x00, 0x01, 0x00});
    // Case 4E: 00, Lc (2), data, Le (2) with no second 00.
    Bytes e4 = ApduCommand::make(0x00, 0x87, 0x07, 0x9A, filled(300, 0x01), 65536).encode();
    REQUIRE(e4.size() == 4 + 3 + 300 + 2);
    CHECK(Bytes(e4.begin(), e4.begin() + 7) == Bytes{0x00, 0x87, 0x07, 0x9A, 0x00, 0x01, 0x2C});
    CHECK(Bytes(e4.end() - 2, e4.end()) == Bytes{0x00, 0x00});
    // Forced extended for a small command.
    CHECK(ApduCommand::make(0x00, 0xCB, 0x3F, 0xFF, {0x5C}, 5, LengthForm::extended).encode() ==
          Bytes{0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x01, 0x5C, 0x00, 0x05});
}

TEST_CASE("build limits: Lc and Le ranges per form") {
    CHECK_THROWS_AS(ApduCommand::make(0, 0xDB, 0, 0, filled(256, 0), {}, LengthForm::short_form),
                    Error);
    CHECK_THROWS_AS(ApduCommand::make(0, 0xB0, 0, 0, {}, 257, LengthForm::short_form), Error);
    CHECK_THROWS_AS(ApduCommand::make(0, 0xB0, 0, 0, {}, 0), Error);
    CHECK_THROWS_AS(ApduCommand::make(0, 0xB0, 0, 0, {}, 65537), Error);
    CHECK_THROWS_AS(ApduCommand::make(0, 0xDB, 0, 0, filled(65536, 0)), Error);
    CHECK_NOTHROW(ApduCommand::make(0, 0xDB, 0, 0, filled(65535, 0), 65536));
}

TEST_CASE("parse reads every case and form") {
    auto c1 = ApduCommand::parse("00 20 00 80");
    CHECK(c1.apdu_case() == ApduCase::case1);
    auto c2 = ApduCommand::parse("00:C0:00:00:00");
    CHECK(c2.apdu_case() == ApduCase::case2);
    CHECK(c2.ne == 256u);
    auto c3 = ApduCommand::parse("00A40400023F00");
    CHECK(c3.apdu_case() == ApduCase::case3);
    CHECK(c3.data == Bytes{0x3F, 0x00});
    auto c4 = ApduCommand::parse("00 cb 3f ff 03 5c 01 7e 00");
    CHECK(c4.apdu_case() == ApduCase::case4);
    CHECK(c4.ne == 256u);
    auto e2 = ApduCommand::parse("00 B0 00 00 00 00 00");
    CHECK(e2.extended);
    CHECK(e2.ne == 65536u);
    auto e4 = ApduCommand::parse("00 CB 3F FF 00 00 01 5C 01 00");
    CHECK(e4.extended);
    CHECK(e4.data == Bytes{0x5C});
    CHECK(e4.ne == 256u);
    // Decoding then encoding gives the same bytes back.
    CHECK(e4.encode() == Bytes{0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x01, 0x5C, 0x01, 0x00});
}

TEST_CASE("malformed hex names the position") {
    CHECK(parse_error("00 A4 0G 00").find("at position 7:") == 0);
    CHECK(parse_error("00 A4 04 0").find("at position 9:") == 0);
    CHECK(parse_error("00 A4 0 4 00").find("at position 6:") == 0);
    CHECK(parse_error("00 A4").find("at position 5:") == 0);  // too short: the end
    // Lc says 5 but 2 bytes follow: the position of Lc.
    std::string lc = parse_error("00 A4 04 00 05 3F 00");
    CHECK(lc.find("at position 12:") == 0);
    CHECK(lc.find("Lc") != std::string::npos);
    // Extended Lc 0003 with 2 bytes: the position of Lc's first byte after the 00.
    CHECK(parse_error("00 DB 3F FF 00 00 03 01 02").find("at position 15:") == 0);
    // 00 00 00 alone is case 2E with Le 65536; with data after it, Lc 0000 is wrong.
    CHECK_NOTHROW(ApduCommand::parse("00 B0 00 00 00 00 00"));
    CHECK(parse_error("00 DB 3F FF 00 00 00 01").find("at position 15: extended Lc is 0000") == 0);
}

TEST_CASE("a command over 65544 bytes is refused at the first byte too many") {
    std::string text = "00DB3FFF00FFFF" + std::string(65535 * 2, 'A') + "0000";
    CHECK_NOTHROW(ApduCommand::parse(text));
    std::string too_long = text + "00";
    CHECK(parse_error(too_long).find("at position " + std::to_string(text.size()) + ":") == 0);
}

TEST_CASE("describe names the case and fields") {
    CHECK(ApduCommand::parse("00 A4 04 00 02 3F 00 00").describe() ==
          "case 4 short: CLA 00 INS A4 P1 04 P2 00 Lc 2 Le 256");
}
