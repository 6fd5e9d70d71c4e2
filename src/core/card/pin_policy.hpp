// When trying a PIN is too risky.
//
// A card blocks its PIN after a few wrong tries, and unblocking takes the PUK or a trip
// to the issuing office. cactool therefore refuses to present a PIN when the next wrong
// one would leave the card with no more tries than the configured threshold, unless the
// operator insists (--force).
#pragma once

#include <optional>

#include "core/pkcs11/slots.hpp"

namespace cac {

// What PKCS#11 reveals of the tries left: none when locked, one at the final try, and
// otherwise nothing (CKF_USER_PIN_COUNT_LOW says a try was lost, not how many remain).
std::optional<int> retries_left(const PinStatus& pin);

// True when the tries left are known and at or below `threshold`: one more failure
// could block the PIN (threshold 1), or come too close to it (a larger threshold).
// A threshold of 0 turns the guard off except for a PIN that is already locked.
bool login_could_lock(std::optional<int> retries_left, int threshold);

// "count low" for a source that gives a count but no maximum (a PIV card over PC/SC):
// true when the count is known, above 0, and the next wrong PIN would bring it to where
// the guard refuses (login_could_lock). A function of the count alone, so a status read
// on its own and one read after a wrong PIN agree whenever the card gives the same count.
// PKCS#11's CKF_USER_PIN_COUNT_LOW ("a try was lost") needs the maximum to compare with.
bool count_low(std::optional<int> retries_left, int threshold);

}  // namespace cac
