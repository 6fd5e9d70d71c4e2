// The Printed Information object of ICAM test card 46 in tests/data (03-piv-cac-objects,
// copied from GSA's gsa-icam-card-builder; see SOURCES.md), read as its annotated dump
// (printed_information_5FC109.txt) reads it; tags and sizes from SP 800-73-4 part 1
// table 13.
#include <doctest/doctest.h>

#include <filesystem>

#include "core/piv/printed.hpp"
#include "core/util/error.hpp"
#include "core/util/hex.hpp"
#include "test_support.hpp"

using namespace cac;

namespace {

const std::filesystem::path kCard46 =
    "03-piv-cac-objects/icam-test-cards/card46-golden-fips201-2-piv";

}  // namespace

TEST_CASE("printed information: ICAM card 46") {
    Bytes object = test::testdata_bytes(kCard46 / "printed_information_5FC109.bin");
    REQUIRE(object.size() == 127);
    piv::PrintedInformation printed = piv::parse_printed_information(object);
    CHECK(printed.name == "ICAM Card 46 Golden FIPS 201-2 PIV");
    CHECK(printed.employee_affiliation == "4700");
    CHECK(printed.expiration == "2032DEC02");
    CHECK(printed.agency_card_serial == "123456789");
    CHECK(printed.issuer == "ICAM Test Cards");
    CHECK(printed.organization_affiliation1 == "ICAM Test Cards     ");
    CHECK(printed.organization_affiliation2 == "ICAM Test Cards     ");
    CHECK_FALSE(printed.employee_affiliation_line2);
    CHECK(printed.warnings.empty());
}

TEST_CASE("printed information: wrapped in 53 as GET DATA answers (53 7F)") {
    Bytes object = test::testdata_bytes(kCard46 / "printed_information_5FC109.bin");
    Bytes wrapped{0x53, 0x7F};
    wrapped.insert(wrapped.end(), object.begin(), object.end());
    CHECK(piv::parse_printed_information(wrapped).issuer == "ICAM Test Cards");
}

TEST_CASE("printed information: truncated inside the issuer") {
    Bytes object = test::testdata_bytes(kCard46 / "printed_information_5FC109.bin");
    object.resize(0x45);  // the issuer (06 0F) starts at 0x40
    piv::PrintedInformation printed = piv::parse_printed_information(object);
    CHECK(printed.agency_card_serial == "123456789");
    CHECK_FALSE(printed.issuer);
    bool truncated = false, no_issuer = false;
    for (const std::string& w : printed.warnings) {
        truncated = truncated || w.find("truncated") != std::string::npos;
        no_issuer = no_issuer || w == "no issuer identification (06)";
    }
    CHECK(truncated);
    CHECK(no_issuer);
}

TEST_CASE("printed information: dates not YYYYMMMDD and over-long fields are warnings") {
    // 04: 20321202 (YYYYMMDD, as the CHUID writes it), 06: 16 bytes, one over 15.
    piv::PrintedInformation printed = piv::parse_printed_information(
        test::hex_bytes("01 01 41 02 01 42 04 08 32 30 33 32 31 32 30 32 05 01 31"
                        "06 10 41 41 41 41 41 41 41 41 41 41 41 41 41 41 41 41 FE 00"));
    CHECK(printed.expiration == "20321202");
    CHECK(printed.issuer == std::string(16, 'A'));
    REQUIRE(printed.warnings.size() == 2);
    CHECK(printed.warnings[0] == "the expiration date (04) is not YYYYMMMDD");
    CHECK(printed.warnings[1].find("over 15") != std::string::npos);
}

TEST_CASE("printed information: the SP 800-73-1 second affiliation line is read") {
    piv::PrintedInformation printed = piv::parse_printed_information(test::hex_bytes(
        "01 01 41 02 01 42 03 01 43 04 09 32 30 33 32 44 45 43 30 32 05 01 31 06 01 49"));
    CHECK(printed.employee_affiliation_line2 == "C");
    CHECK(printed.warnings.size() == 1);
}

TEST_CASE("printed information: nothing readable is a parse error") {
    CHECK_THROWS_AS(piv::parse_printed_information(Bytes{}), Error);
    CHECK_THROWS_AS(piv::parse_printed_information(test::hex_bytes("01 22 49 43")), Error);
}
