// The Printed Information object of ICAM test card 46 in tests/data (03-piv-cac-objects,
// copied from GSA's gsa-icam-card-builder; see SOURCES.md), read as its annotated dump
// (printed_information_5FC109.txt) reads it; tags and sizes from SP 800-73-4 part 1
// table 13.
#include <doctest/doctest.h>

#include <filesystem>

#include "core/piv/dates.hpp"
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
    CHECK(printed.expiration_date == "2032-12-02");
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
    CHECK(printed.warnings[0] == "the expiration date (04) is not a date written YYYYMMMDD");
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

// The two date forms of SP 800-73-4 part 1 (CHUID tag 35: YYYYMMDD; printed information
// tag 04: YYYYMMMDD), and the days the Gregorian calendar has.
TEST_CASE("PIV dates as RFC 3339 full-dates") {
    CHECK(piv::date_from_yyyymmdd("20321202") == "2032-12-02");
    CHECK(piv::date_from_yyyymmdd("20240229") == "2024-02-29");  // a leap year
    CHECK(piv::date_from_yyyymmdd("20000229") == "2000-02-29");  // divisible by 400
    CHECK_FALSE(piv::date_from_yyyymmdd("21000229"));            // by 100, not 400
    CHECK_FALSE(piv::date_from_yyyymmdd("20230229"));
    CHECK_FALSE(piv::date_from_yyyymmdd("20320431"));  // April has 30 days
    CHECK_FALSE(piv::date_from_yyyymmdd("20321300"));
    CHECK_FALSE(piv::date_from_yyyymmdd("2032120"));
    CHECK_FALSE(piv::date_from_yyyymmdd("        "));  // the blank date some cards write
    CHECK_FALSE(piv::date_from_yyyymmdd("2032-1-2"));
    CHECK_FALSE(piv::date_from_yyyymmdd("+0321202"));

    CHECK(piv::date_from_yyyymmmdd("2032DEC02") == "2032-12-02");
    CHECK(piv::date_from_yyyymmmdd("2030jan31") == "2030-01-31");
    CHECK_FALSE(piv::date_from_yyyymmmdd("2030FEB30"));
    CHECK_FALSE(piv::date_from_yyyymmmdd("2030DEK02"));
    CHECK_FALSE(piv::date_from_yyyymmmdd("20301202"));
    CHECK_FALSE(piv::date_from_yyyymmmdd("2032DEC2 "));
}
