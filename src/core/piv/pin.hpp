// PIV PIN verification over APDUs (NIST SP 800-73-4 part 2 section 3.2.1, VERIFY).
//
// VERIFY is 00 20 00 <key reference> with either no data, which asks for the PIN's state
// without spending a try, or the PIN padded with FF to 8 bytes. The key references are 80
// for the PIV application PIN and 00 for the Global PIN (part 1 table 4); the PUK (81) is
// not one VERIFY takes: it serves only RESET RETRY COUNTER and CHANGE REFERENCE DATA.
// Which PIN a client should ask for comes from the Discovery Object's PIN usage policy.
//
// What the card answers, as the standard and real cards have it:
//   63Cx  x tries left (after a wrong PIN, or to the empty VERIFY); 63C0 is blocked
//   630x  x tries left, written by some older cards without the C nibble (x > 0)
//   6300  a wrong PIN or an unverified PIN, the count not given
//   6983  blocked: no try left
//   9000  after the PIN: correct; to the empty VERIFY: verified already, count not given
//   6A88  no such PIN on this card (the Global PIN where the card has none)
//
// The VERIFY that carries the PIN goes through the exchanger like any other command (a
// T=0 card may answer it in pieces): the exchanger keeps only the header and Lc of a
// command that carries a PIN and wipes what it sent, and the command here is wiped after
// it. The card counts the try whatever happens to its answer, so the exchange is marked
// as work the --timeout watchdog lets finish, and nothing here ever sends it twice.
#pragma once

#include <cstdint>
#include <optional>

#include "core/apdu/exchange.hpp"
#include "core/piv/discovery.hpp"
#include "core/util/secret.hpp"

namespace cac::piv {

enum class PinReference : std::uint8_t {
    global = 0x00,       // the Global PIN, shared by the card's applications
    application = 0x80,  // the PIV application PIN
};

// The PIN a client should verify: the Global PIN when the discovery object says it is
// primary, else the application PIN (also when the card has no discovery object).
PinReference pin_to_verify(const std::optional<DiscoveryObject>& discovery);

// What the card says of a PIN's retry counter.
struct PinCounter {
    enum class State {
        tries_left,     // `tries` is the count
        count_unknown,  // 6300: the card gives no count
        verified,       // 9000 to the empty VERIFY: verified in this card session
        blocked,        // 6983, 63C0
    };
    State state = State::count_unknown;
    std::optional<int> tries;  // only with tries_left, always above 0
    bool nonstandard = false;  // the count came as 630x rather than 63Cx
    std::uint16_t sw = 0;
};

// The counter an answer to VERIFY (with or without the PIN) tells. Throws
// Error(status_word) for 6A88 (no such PIN) and any other answer.
PinCounter counter_from_status(std::uint16_t sw, PinReference reference);

// The empty VERIFY (00 20 00 <ref>): the PIN's state, no try spent.
PinCounter read_pin_counter(ApduExchanger& exchanger, PinReference reference);

// PINs are 6 to 8 digits (SP 800-73-4 part 2 section 2.4.3). Throws Error(usage) for any
// other PIN, without saying anything of its characters.
void check_pin_format(const Secret& pin);

enum class VerifyResult { correct, incorrect, blocked };

struct VerifyOutcome {
    VerifyResult result = VerifyResult::incorrect;
    PinCounter counter;  // what the answer said; `verified` after a correct PIN
};

// VERIFY with the PIN padded with FF to 8 bytes, exchanged once. Checks the PIN's format
// first. Throws the channel's error as it came (the try may have been counted),
// Error(usage) for a PIN of the wrong form, Error(status_word) as counter_from_status
// does.
VerifyOutcome verify_pin(ApduExchanger& exchanger, PinReference reference, const Secret& pin);

}  // namespace cac::piv
