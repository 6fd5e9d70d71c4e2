#include <doctest/doctest.h>

#include "core/pcsc/features.hpp"
#include "core/util/error.hpp"

using namespace cac;
using namespace cac::pcsc;

namespace {

std::string parse_failure(const std::string& hex, bool properties) {
    Bytes bytes = *parse_hex(hex);
    try {
        if (properties)
            (void)parse_tlv_properties(bytes);
        else
            (void)parse_feature_list(bytes);
    } catch (const Error& error) {
        CHECK(error.is(CoreCode::parse_error));
        return error.reason();
    }
    return "parsed";
}

}  // namespace

// A PIN pad reader's list as part 10 section 2.3 lays it out: tag, 04, big-endian code
// (the CCID driver's codes are SCARD_CTL_CODE(0x330000 + tag)).
TEST_CASE("a PIN pad reader's feature list") {
    auto features =
        parse_feature_list(*parse_hex("06 04 42 33 00 06  07 04 42 33 00 07  "
                                      "0A 04 42 33 00 0A  12 04 42 33 00 12"));
    REQUIRE(features.size() == 4);
    CHECK(features[0].tag == 0x06);
    CHECK(features[0].control_code == 0x42330006u);
    CHECK(features[3].control_code == 0x42330012u);
    ReaderFeatures reader{features, std::nullopt};
    CHECK(reader.pin_pad());
    CHECK(reader.has(FeatureTag::modify_pin_direct));
    CHECK_FALSE(reader.has(FeatureTag::verify_pin_start));
    CHECK(feature_name(0x07) == "FEATURE_MODIFY_PIN_DIRECT");
    CHECK(feature_name(0x42) == "FEATURE_0x42");
}

TEST_CASE("an empty feature list is no features") {
    CHECK(parse_feature_list({}).empty());
}

TEST_CASE("a truncated or malformed feature list names the byte") {
    CHECK(parse_failure("12 04 42 33", false) == "byte 0: an entry of 4 bytes with only 2 left");
    CHECK(parse_failure("12 04 42 33 00 12 06", false) ==
          "byte 6: an entry with a tag but no length");
    CHECK(parse_failure("12 03 42 33 00", false) ==
          "byte 0: FEATURE_GET_TLV_PROPERTIES has a value of 3 bytes, not a 4-byte control code");
    CHECK(parse_failure("06 04 42 33 00 06 FF FF", false) ==
          "byte 6: an entry of 255 bytes with only 0 left");
}

// Part 10 GET_TLV_PROPERTIES: one-byte tag and length, little-endian values.
TEST_CASE("TLV properties of a PIN pad reader") {
    auto p =
        parse_tlv_properties(*parse_hex("01 02 02 04  02 01 02  03 01 00  04 02 10 00  "
                                        "05 02 02 00  06 01 04  07 01 08  "
                                        "08 06 56 31 2E 32 33 00  09 01 01  "
                                        "0A 04 00 01 00 00  0B 02 6F 07  0C 02 4F 00  "
                                        "20 02 AA BB"));
    CHECK(p.lcd_layout == 0x0402);
    CHECK(p.entry_validation_condition == 0x02);
    CHECK(p.timeout2 == 0);
    CHECK(p.lcd_max_characters == 16);
    CHECK(p.lcd_max_lines == 2);
    CHECK(p.min_pin_size == 4);
    CHECK(p.max_pin_size == 8);
    CHECK(p.firmware_id == std::string("V1.23\0", 6));
    CHECK(p.ppdu_support == 1);
    CHECK(p.max_apdu_data_size == 256u);
    CHECK(p.vendor_id == 0x076F);
    CHECK(p.product_id == 0x004F);
    REQUIRE(p.unknown.size() == 1);
    CHECK(p.unknown[0].first == 0x20);
    CHECK(p.unknown[0].second == Bytes{0xAA, 0xBB});
}

TEST_CASE("a property value shorter than its width reads the same, a longer one is refused") {
    CHECK(parse_tlv_properties(*parse_hex("0A 02 00 01")).max_apdu_data_size == 256u);
    CHECK(parse_failure("06 02 04 00", true) == "byte 0: a value of 2 bytes where at most 1 fit");
    CHECK(parse_failure("0A 00", true) == "byte 0: a value of 0 bytes where at most 4 fit");
    CHECK(parse_failure("06 01 04 0A 04 00 01", true) ==
          "byte 3: an entry of 4 bytes with only 2 left");
    CHECK(parse_failure("06", true) == "byte 0: an entry with a tag but no length");
}
