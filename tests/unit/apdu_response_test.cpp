// Responses and status word meanings, from ISO/IEC 7816-4:2013 clause 5.6 and NIST SP
// 800-73-4 part 2 table 6.
#include <doctest/doctest.h>

#include "core/apdu/response.hpp"
#include "core/util/error.hpp"

using namespace cac;

TEST_CASE("a response splits into data and SW1 SW2") {
    auto r = ApduResponse::decode(Bytes{0x01, 0x02, 0x90, 0x00});
    CHECK(r.data == Bytes{0x01, 0x02});
    CHECK(r.sw == StatusWord{0x90, 0x00});
    CHECK(r.ok());
    CHECK(r.encode() == Bytes{0x01, 0x02, 0x90, 0x00});
    CHECK_THROWS_AS(ApduResponse::decode(Bytes{0x6F}), Error);
    CHECK_THROWS_AS(ApduResponse::decode(Bytes{}), Error);
}

TEST_CASE("status word classes follow SW1") {
    CHECK(meaning(StatusWord::of(0x9000)).cls == SwClass::success);
    CHECK(meaning(StatusWord::of(0x6110)).cls == SwClass::success);
    CHECK(meaning(StatusWord::of(0x6282)).cls == SwClass::warning);
    CHECK(meaning(StatusWord::of(0x63C2)).cls == SwClass::warning);
    CHECK(meaning(StatusWord::of(0x6581)).cls == SwClass::execution_error);
    CHECK(meaning(StatusWord::of(0x6700)).cls == SwClass::checking_error);
    CHECK(meaning(StatusWord::of(0x6D00)).cls == SwClass::checking_error);
    // Unknown words still get the class their SW1 implies.
    CHECK(meaning(StatusWord::of(0x6455)).cls == SwClass::execution_error);
    CHECK(meaning(StatusWord::of(0x9F10)).text.find("9F10") != std::string::npos);
}

TEST_CASE("meanings fill in the counted digits") {
    CHECK(meaning(StatusWord::of(0x63C2), SwDialect::iso).text == "warning: counter value 2");
    CHECK(meaning(StatusWord::of(0x63C2)).text.find("2 further retries") != std::string::npos);
    CHECK(meaning(StatusWord::of(0x6110), SwDialect::iso).text.find("16 more bytes") !=
          std::string::npos);
    CHECK(meaning(StatusWord::of(0x6100)).text.find("256") != std::string::npos);
    CHECK(meaning(StatusWord::of(0x6C20)).text.find("32 bytes") != std::string::npos);
}

TEST_CASE("the dialect picks the PIV or CAC reading, ISO otherwise") {
    CHECK(meaning(StatusWord::of(0x6A82), SwDialect::iso).text == "file or application not found");
    CHECK(meaning(StatusWord::of(0x6A82), SwDialect::piv).text ==
          "data object or application not found");
    CHECK(meaning(StatusWord::of(0x6A82), SwDialect::piv).source ==
          "NIST SP 800-73-4 part 2 table 6");
    CHECK(meaning(StatusWord::of(0x6A80), SwDialect::cac).text.find("transitional CAC") !=
          std::string::npos);
    CHECK(meaning(StatusWord::of(0x6883), SwDialect::cac).text ==
          "last command of the chain expected");
}

TEST_CASE("every row of the table is a well-formed pattern") {
    for (const StatusWordRow& row : status_word_table()) {
        INFO(row.pattern);
        auto pattern = SwPattern::parse(row.pattern);
        REQUIRE(pattern.has_value());
        CHECK(!row.meaning.empty());
        CHECK(!row.source.empty());
    }
}

TEST_CASE("status word patterns") {
    auto any61 = SwPattern::parse("61xx");
    REQUIRE(any61);
    CHECK(any61->matches(StatusWord::of(0x6100)));
    CHECK(any61->matches(StatusWord::of(0x61FF)));
    CHECK_FALSE(any61->matches(StatusWord::of(0x6200)));
    CHECK(SwPattern::parse("90 00")->matches(StatusWord::of(0x9000)));
    CHECK(SwPattern::parse("63cX")->matches(StatusWord::of(0x63C0)));
    CHECK(SwPattern::parse("63cX")->text() == "63Cx");
    CHECK_FALSE(SwPattern::parse("900").has_value());
    CHECK_FALSE(SwPattern::parse("9 000").has_value());
    CHECK_FALSE(SwPattern::parse("90g0").has_value());
    CHECK_FALSE(SwPattern::parse("").has_value());
}
