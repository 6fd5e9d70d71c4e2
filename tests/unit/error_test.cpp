#include <doctest/doctest.h>
#include <p11-kit/pkcs11.h>

#include "core/util/error.hpp"

using namespace cac;

TEST_CASE("a PKCS#11 error names its code, value, operation and context") {
    Error error(ErrorDomain::pkcs11, CKR_PIN_INCORRECT, "C_Login");
    error.with_slot("0").with_token("PIV_II");
    CHECK(error.code_text() == "CKR_PIN_INCORRECT (0xa0)");
    CHECK(error.message() ==
          "failed to C_Login: the PIN is wrong: CKR_PIN_INCORRECT (0xa0) (slot 0, token "
          "\"PIV_II\")");
    CHECK(error.taxonomy().category == Category::authentication);
    CHECK(error.what() == error.message());
}

TEST_CASE("vendor-defined codes keep their value in the name") {
    Error error(ErrorDomain::pkcs11, CKR_VENDOR_DEFINED + 0x12, "C_GetTokenInfo");
    CHECK(error.code_text() == "CKR_VENDOR_DEFINED+0x12 (0x80000012)");
}

TEST_CASE("an explicit hint overrides the taxonomy's") {
    Error error(CoreCode::module_not_found, "find a PKCS#11 module");
    CHECK(error.hint().find("opensc") != std::string::npos);
    error.with_hint("give --module");
    CHECK(error.hint() == "give --module");
    CHECK(code_name(ErrorDomain::core, std::uint32_t(CoreCode::module_not_found)) ==
          "CACTOOL_MODULE_NOT_FOUND");
}

TEST_CASE("a cause is part of the message") {
    Error cause(ErrorDomain::pkcs11, CKR_DEVICE_ERROR, "C_GetTokenInfo");
    Error error(CoreCode::not_found, "find token", "no token matched");
    error.with_cause(cause);
    CHECK(error.message().find("caused by: failed to C_GetTokenInfo") != std::string::npos);
}

TEST_CASE("status words are named with their hex value") {
    CHECK(code_name(ErrorDomain::status_word, 0x6983) == "SW 6983");
}
