// The Key History object: ICAM test card 37's (tests/data/03-piv-cac-objects, from GSA's
// gsa-icam-card-builder, "5 retired keys with on-card certs, 0 off-card" as SOURCES.md
// and its annotated dump say), the G+D SCE 7.0 trace's (53 08 C1 01 00 C2 01 00 FE 00),
// and the rules of SP 800-73-4 part 1 table 19.
#include <doctest/doctest.h>

#include <filesystem>

#include "core/piv/key_history.hpp"
#include "core/util/error.hpp"
#include "core/util/hex.hpp"
#include "test_support.hpp"

using namespace cac;

namespace {}  // namespace

TEST_CASE("key history: ICAM card 37 has five retired keys, their certificates on the card") {
    Bytes object = test::testdata_bytes(
        "03-piv-cac-objects/icam-test-cards/card37-golden-piv-pps/key_history_5FC10C.bin");
    REQUIRE(object == test::hex_bytes("C1 01 05 C2 01 00 FE 00"));
    piv::KeyHistory history = piv::parse_key_history(object);
    CHECK(history.keys_with_on_card_certs == 5);
    CHECK(history.keys_with_off_card_certs == 0);
    CHECK_FALSE(history.off_card_cert_url);
    CHECK(history.warnings.empty());
}

TEST_CASE("key history: the G+D trace's object, in its 53 wrapper") {
    piv::KeyHistory history =
        piv::parse_key_history(test::hex_bytes("53 08 C1 01 00 C2 01 00 FE 00"));
    CHECK(history.keys_with_on_card_certs == 0);
    CHECK(history.keys_with_off_card_certs == 0);
    CHECK(history.warnings.empty());
}

TEST_CASE("key history: off-card certificates with their URL") {
    piv::KeyHistory history = piv::parse_key_history(
        test::hex_bytes("C1 01 00 C2 01 02 F3 0A 68 74 74 70 3A 2F 2F 78 2F 6B FE 00"));
    CHECK(history.keys_with_off_card_certs == 2);
    CHECK(history.off_card_cert_url == "http://x/k");
    CHECK(history.warnings.empty());
}

TEST_CASE("key history: table 19's rules broken are warnings") {
    // Off-card certificates but no URL.
    CHECK(piv::parse_key_history(test::hex_bytes("C1 01 00 C2 01 01")).warnings ==
          std::vector<std::string>{"certificates off the card, but no URL (F3) to find them"});
    // 15 + 6 keys: more than the 20 retired key references 82 to 95.
    CHECK(piv::parse_key_history(test::hex_bytes("C1 01 0F C2 01 06 F3 01 78")).warnings ==
          std::vector<std::string>{"21 retired keys, more than the 20 a card can hold"});
    // A count of two bytes, and no C2.
    piv::KeyHistory odd = piv::parse_key_history(test::hex_bytes("C1 02 00 05"));
    CHECK_FALSE(odd.keys_with_on_card_certs);
    CHECK(odd.warnings.size() == 2);
}

TEST_CASE("key history: truncated, or nothing readable") {
    piv::KeyHistory cut = piv::parse_key_history(test::hex_bytes("C1 01 03 C2 01"));
    CHECK(cut.keys_with_on_card_certs == 3);
    CHECK_FALSE(cut.keys_with_off_card_certs);
    CHECK(cut.warnings.size() == 2);
    CHECK_THROWS_AS(piv::parse_key_history(Bytes{}), Error);
    CHECK_THROWS_AS(piv::parse_key_history(test::hex_bytes("C1 05 00")), Error);
}
