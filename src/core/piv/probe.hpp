// Which card applications a card answers: a SELECT by AID of each (ISO/IEC 7816-4 clause
// 11.2.2, 00 A4 04 00), whose status word is all that is kept. Nothing is read from a
// CAC applet; a PIV card's objects are read with get_data and the parsers beside this.
//
// The CAC AIDs are those of the GSC-IS 2.1 applets a DoD CAC carries (the "CACv2" data
// model): the three PKI applets (identity, signature, encryption certificates and keys),
// the Card Capability Container applet, the Access Control Applet, and the two CAC data
// model applets (person instance, personnel). A CAC that also has PIV (a "transitional"
// card) answers both.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/apdu/exchange.hpp"
#include "core/util/hex.hpp"

namespace cac::piv {

struct CardApplication {
    std::string_view name;  // "PIV", "CAC PKI identity", ...
    Bytes aid;
    bool expects_answer_data = false;  // the SELECT asks for an answer (Le); PIV gives a template
};

// PIV first, then the CAC applets.
std::span<const CardApplication> probed_applications();

struct SelectAnswer {
    std::uint16_t sw = 0;
    // The card selected the application: 9000, or a 62xx warning (ISO/IEC 7816-4 table 6,
    // such as 6283 for an application that is deactivated but there).
    bool answered = false;
};

// SELECT of `application` by its AID. Throws cac::Error for the channel's own troubles
// (as detail::exchange_checked does); any status word is an answer, not an error.
SelectAnswer select_application(ApduExchanger& exchanger, const CardApplication& application);

}  // namespace cac::piv
