#include <doctest/doctest.h>
#include <p11-kit/pkcs11.h>

#include "core/card/pin_policy.hpp"

using namespace cac;

// The flags are PKCS#11 v3.1 section 5.5 (CK_TOKEN_INFO): COUNT_LOW says a try was lost,
// FINAL_TRY that one remains, LOCKED that none does.
TEST_CASE("tries left as far as the token's flags tell") {
    CHECK(retries_left(user_pin_status(0)) == std::nullopt);
    CHECK(retries_left(user_pin_status(CKF_USER_PIN_COUNT_LOW)) == std::nullopt);
    CHECK(retries_left(user_pin_status(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY)) == 1);
    CHECK(retries_left(user_pin_status(CKF_USER_PIN_LOCKED)) == 0);
    CHECK(retries_left(so_pin_status(CKF_USER_PIN_LOCKED)) == std::nullopt);
    CHECK(retries_left(so_pin_status(CKF_SO_PIN_FINAL_TRY)) == 1);
}

TEST_CASE("the guard refuses at or below the threshold") {
    CHECK(login_could_lock(1, 1));
    CHECK_FALSE(login_could_lock(2, 1));
    CHECK(login_could_lock(2, 2));
    CHECK_FALSE(login_could_lock(std::nullopt, 15));
    CHECK_FALSE(login_could_lock(1, 0));
    CHECK(login_could_lock(0, 0));
}

// Hand-worked from the rule in pin_policy.hpp: low when one more wrong PIN reaches the
// guard's threshold; the default threshold 1 makes 2 tries low on a card of 3.
TEST_CASE("count low follows the count and the guard's threshold, nothing else") {
    CHECK(count_low(2, 1));
    CHECK(count_low(1, 1));
    CHECK_FALSE(count_low(3, 1));
    CHECK_FALSE(count_low(0, 1));
    CHECK_FALSE(count_low(std::nullopt, 15));
    CHECK(count_low(4, 3));
    CHECK_FALSE(count_low(5, 3));
    CHECK(count_low(1, 0));
    CHECK_FALSE(count_low(2, 0));
}
