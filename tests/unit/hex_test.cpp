#include <doctest/doctest.h>

#include "core/util/hex.hpp"

using namespace cac;

TEST_CASE("hex round trip") {
    Bytes bytes{0x00, 0x9a, 0xff};
    CHECK(to_hex(bytes) == "009aff");
    CHECK(to_hex_colon(bytes) == "00:9A:FF");
    CHECK(parse_hex("00 9A ff") == bytes);
    CHECK(parse_hex("00:9a:FF") == bytes);
}

TEST_CASE("malformed hex is refused") {
    CHECK_FALSE(parse_hex("abc").has_value());
    CHECK_FALSE(parse_hex("a b").has_value());
    CHECK_FALSE(parse_hex("zz").has_value());
    CHECK(parse_hex("")->empty());
}
