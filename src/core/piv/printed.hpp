// The Printed Information object (SP 800-73-4 part 1 appendix A table 13, object 5FC109):
// what is printed on the card's face, as text. Its access rule is the PIN (table 2), so a
// card answers 6982 to GET DATA before VERIFY; reading it is the caller's business.
//
// Table 13: 01 name (up to 125 bytes), 02 employee affiliation (20), 04 expiration date
// (9, YYYYMMMDD as in 2032DEC02), 05 agency card serial number (20), 06 issuer
// identification (15), 07 and 08 the two lines of organization affiliation (20 each,
// optional), FE the error detection code. Tag 03, the second line of the employee
// affiliation, is SP 800-73-1's and gone since; older cards still carry it.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace cac::piv {

struct PrintedInformation {
    std::optional<std::string> name;                        // 01
    std::optional<std::string> employee_affiliation;        // 02
    std::optional<std::string> employee_affiliation_line2;  // 03 (SP 800-73-1)
    std::optional<std::string> expiration;                  // 04, as written
    std::optional<std::string> expiration_date;             // the same as YYYY-MM-DD
    std::optional<std::string> agency_card_serial;          // 05
    std::optional<std::string> issuer;                      // 06
    std::optional<std::string> organization_affiliation1;   // 07
    std::optional<std::string> organization_affiliation2;   // 08
    std::vector<std::string> warnings;  // missing fields, over-long ones, truncation
};

// Reads the object: the value of its 53 wrapper or the whole object. Text is kept as the
// card wrote it, padding included (the caller makes it safe to print). A missing
// mandatory field, a field over table 13's length, a date that is not one written YYYYMMMDD, or a
// truncated object is a warning. Throws Error(parse_error) when no TLV at all can be read.
PrintedInformation parse_printed_information(std::span<const std::uint8_t> object);

}  // namespace cac::piv
