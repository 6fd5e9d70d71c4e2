// The Card Capability Container read from the ICAM test cards in tests/data
// (03-piv-cac-objects, copied from GSA's gsa-icam-card-builder; see SOURCES.md). Expected
// values are the ones the files' own annotated dumps give (ccc_5FC107.txt); the tags and
// their sizes are SP 800-73-4 part 1 table 8's.
#include <doctest/doctest.h>

#include <filesystem>

#include "core/piv/ccc.hpp"
#include "core/util/error.hpp"
#include "test_support.hpp"

using namespace cac;

namespace {

const std::filesystem::path kIcam = "03-piv-cac-objects/icam-test-cards";

}  // namespace

TEST_CASE("ccc: ICAM card 46, as its annotated dump reads it") {
    Bytes object = test::testdata_bytes(kIcam / "card46-golden-fips201-2-piv/ccc_5FC107.bin");
    REQUIRE(object.size() == 68);
    piv::CardCapabilityContainer ccc = piv::parse_ccc(object);
    CHECK(ccc.card_identifier ==
          test::hex_bytes("A0 00 00 00 79 50 49 56 20 32 2E 33 2E 32 20 63 61 72 64 20 20"));
    REQUIRE(ccc.identifier);
    CHECK(ccc.identifier->gsc_rid == test::hex_bytes("A0 00 00 00 79"));
    CHECK(ccc.identifier->manufacturer_id == 0x50);
    CHECK(ccc.identifier->card_type == 0x49);
    CHECK(ccc.identifier->card_id == test::hex_bytes("56 20 32 2E 33 2E 32 20 63 61 72 64 20 20"));
    CHECK(ccc.container_version == 0x21);
    CHECK(ccc.grammar_version == 0x21);
    CHECK(ccc.applications_url.empty());
    CHECK(ccc.pkcs15 == 0x11);
    CHECK(ccc.data_model == 0x10);
    CHECK(ccc.access_control_rule_table == Bytes(17, 0x00));
    CHECK(ccc.warnings.empty());
}

TEST_CASE("ccc: the same object in its 53 wrapper, as GET DATA answers it") {
    Bytes object = test::testdata_bytes(kIcam / "card46-golden-fips201-2-piv/ccc_5FC107.bin");
    Bytes wrapped{0x53, 0x44};
    wrapped.insert(wrapped.end(), object.begin(), object.end());
    piv::CardCapabilityContainer ccc = piv::parse_ccc(wrapped);
    CHECK(ccc.data_model == 0x10);
    CHECK(ccc.warnings.empty());
}

TEST_CASE("ccc: ICAM cards 02 and 37 read without a warning") {
    for (const char* card : {"card02-golden-piv-i", "card37-golden-piv-pps"}) {
        piv::CardCapabilityContainer ccc =
            piv::parse_ccc(test::testdata_bytes(kIcam / card / "ccc_5FC107.bin"));
        CHECK_MESSAGE(ccc.warnings.empty(), card);
        CHECK(ccc.card_identifier.size() == 21);
        CHECK(ccc.data_model == 0x10);
    }
}

TEST_CASE("ccc: a truncated object keeps what came before the cut, with a warning") {
    Bytes object = test::testdata_bytes(kIcam / "card46-golden-fips201-2-piv/ccc_5FC107.bin");
    // Cut inside F6 (the access control rule table, which starts at offset 37).
    object.resize(40);
    piv::CardCapabilityContainer ccc = piv::parse_ccc(object);
    CHECK(ccc.data_model == 0x10);
    CHECK(ccc.access_control_rule_table.empty());
    CHECK(ccc.warnings.size() >= 2);  // the truncation, and F6 onwards missing
    CHECK(ccc.warnings[0].find("truncated") != std::string::npos);
}

TEST_CASE("ccc: a card identifier not of 21 bytes is kept whole, unsplit") {
    piv::CardCapabilityContainer ccc = piv::parse_ccc(test::hex_bytes("F0 03 A0 00 00 F5 01 10"));
    CHECK(ccc.card_identifier == test::hex_bytes("A0 00 00"));
    CHECK_FALSE(ccc.identifier);
    CHECK(ccc.data_model == 0x10);
    CHECK_FALSE(ccc.warnings.empty());
}

TEST_CASE("ccc: a version of two bytes is left out with a warning") {
    piv::CardCapabilityContainer ccc = piv::parse_ccc(test::hex_bytes("F1 02 21 21"));
    CHECK_FALSE(ccc.container_version);
    CHECK(ccc.warnings.front().find("2 bytes") != std::string::npos);
}

TEST_CASE("ccc: nothing readable is a parse error") {
    CHECK_THROWS_AS(piv::parse_ccc(Bytes{}), Error);
    CHECK_THROWS_AS(piv::parse_ccc(test::hex_bytes("F0 15 A0")),
                    Error);  // the first field overruns
    CHECK_THROWS_AS(piv::parse_ccc(test::hex_bytes("53 00")), Error);
}
