// The PIV card application over APDUs, without any PKCS#11 module (NIST SP 800-73-4).
//
// Two commands read everything a PIV card shows without a PIN: SELECT of the PIV
// application (part 2 section 3.1.1: 00 A4 04 00 Lc AID 00), whose answer is the
// Application Property Template (part 2 table 3, tag 61), and GET DATA (part 2 section
// 3.1.2: 00 CB 3F FF Lc 5C <tag> 00), whose answer is the object in its 53 wrapper
// (part 1 section 3.1), or in its own template for the two objects that have one: the
// Discovery Object (7E) and the Biometric Information Templates Group Template (7F61).
//
// The transport (61xx, 6Cxx) is the exchanger's; these functions only build the commands
// and read the answers. A failure of the channel itself (a card removed, a reader gone:
// SCARD_* codes) is rethrown exactly as the channel threw it, because the recovery layer
// decides on those codes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/apdu/exchange.hpp"
#include "core/util/error.hpp"
#include "core/util/hex.hpp"

namespace cac::piv {

// The PIV application's full AID with its version (SP 800-73-4 part 1 section 2.2): the
// RID A0 00 00 03 08 of NIST, the PIX 00 00 10 00 01 00.
constexpr std::array<std::uint8_t, 11> kPivAid{0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
                                               0x00, 0x10, 0x00, 0x01, 0x00};

// The largest data object get_data accepts, wrapper included. SP 800-73-4 part 1 table 8
// gives the largest object, the facial image, 12,704 bytes; 64 KiB leaves cards that
// exceed the table room and is still the most one extended APDU can carry.
inline constexpr std::size_t kMaxObjectBytes = 65536;

// What SELECT answered: the Application Property Template (SP 800-73-4 part 2 table 3).
struct ApplicationTemplate {
    Bytes aid;                             // tag 4F: the PIX, or the full AID on many cards
    std::string label;                     // tag 50, "" when absent
    std::vector<std::uint8_t> algorithms;  // tag AC's 80 entries (part 1 table 5 identifiers)
    Bytes authority;                       // tag 79: the coexistent tag allocation authority
    std::string url;                       // tag 5F50, "" when absent
    std::vector<std::string> warnings;     // what was odd in the template but tolerated
};

// Reads the bytes SELECT answered with 9000. Never throws: a template that cannot be read
// leaves the fields empty and says why in `warnings` (the application is selected all the
// same). Tolerates the length byte 80 that some applets write for a 128-byte template.
ApplicationTemplate parse_application_template(std::span<const std::uint8_t> response);

// The operation named by select()'s errors.
inline constexpr std::string_view kSelectOperation = "select the PIV application";

// SELECT the PIV application (00 A4 04 00 0B <kPivAid> 00) through the exchanger (61xx is
// handled there). Throws cac::Error: the channel's transport error as is,
// Error(CoreCode::not_found) with a hint of its own when the card answers 6A82 (no PIV
// application), or Error(ErrorDomain::status_word, SW) for another refusal.
ApplicationTemplate select(ApduExchanger& exchanger);

// Whether `error` is select()'s "the card has no PIV application".
bool is_no_piv_application(const Error& error);

// The GET DATA command for one object: 00 CB 3F FF Lc 5C <tag bytes> 00.
ApduCommand get_data_command(std::uint32_t tag);

// GET DATA for one object; the value of its wrapper (53, or 7E / 7F61 for the objects
// with their own template). nullopt when the card answers 6A82 (no such object, e.g. an
// empty slot) or 9000 with no bytes at all. 6D00 is an error that says to select the
// application first (it does not mean "not a PIV card"). Throws cac::Error: the channel's
// transport error as is, Error(status_word, SW) for another refusal, Error(parse_error)
// for an object over kMaxObjectBytes or a wrapper that does not hold together.
std::optional<Bytes> get_data(ApduExchanger& exchanger, std::uint32_t tag);

// The value of the wrapper of an object as GET DATA returned it (tag 53, or the object's
// own 7E / 7F61). Trailing bytes after the wrapper are ignored. Throws Error(parse_error).
Bytes unwrap_object(std::span<const std::uint8_t> response, std::uint32_t tag);

namespace detail {

// One exchange whose own troubles become errors: the channel's exactly as it threw them,
// a sequence of GET RESPONSE cut short as its status word (or as a limit when none
// failed). Any status word the card gives in the end is returned for the caller to judge.
ApduResponse exchange_checked(ApduExchanger& exchanger, const ApduCommand& command,
                              const std::string& operation);

}  // namespace detail

}  // namespace cac::piv
