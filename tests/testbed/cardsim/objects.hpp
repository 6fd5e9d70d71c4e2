// The PIV data objects the card generates when a profile does not give them: their layouts
// are NIST SP 800-73-4 part 1 appendix A (tables 8 to 19) and TIG SCEPACS for the FASC-N.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "card.hpp"

namespace cardsim {

// The full PIV AID (SP 800-73-4 part 1 clause 2.2: RID A0 00 00 03 08, PIX 00 00 10 00 01 00).
inline constexpr std::array<std::uint8_t, 11> kPivAid = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
                                                         0x00, 0x10, 0x00, 0x01, 0x00};

// Container tags (SP 800-73-4 part 1 table 3) of the objects this card knows.
inline constexpr std::uint32_t kTagCardAuthCert = 0x5FC101;
inline constexpr std::uint32_t kTagChuid = 0x5FC102;
inline constexpr std::uint32_t kTagPivAuthCert = 0x5FC105;
inline constexpr std::uint32_t kTagSecurityObject = 0x5FC106;
inline constexpr std::uint32_t kTagCcc = 0x5FC107;
inline constexpr std::uint32_t kTagPrintedInformation = 0x5FC109;
inline constexpr std::uint32_t kTagDigSigCert = 0x5FC10A;
inline constexpr std::uint32_t kTagKeyMgmtCert = 0x5FC10B;
inline constexpr std::uint32_t kTagKeyHistory = 0x5FC10C;
inline constexpr std::uint32_t kTagDiscovery = 0x7E;

// The container holding the certificate of a key reference (9A, 9C, 9D, 9E), or 0.
std::uint32_t certificate_tag(std::uint8_t key_ref);

// A FASC-N's fields as decimal digit strings (agency 4, system 4, credential 6, series 1,
// individual credential issue 1, person identifier 10, organizational category 1,
// organizational identifier 4, person/organization association 1).
struct Fascn {
    std::string agency = "9999", system = "9999", credential = "999999", series = "0", issue = "1",
                person = "0000000000", org_category = "1", org_id = "9999", association = "1";
};

// The 25-byte FASC-N: 40 characters of 5 bits (4 BCD bits, least significant first, and an
// odd parity bit) framed by start, separator and end sentinels and a longitudinal check.
Bytes encode_fascn(const Fascn& fields);

Bytes make_chuid(std::span<const std::uint8_t> fascn, std::span<const std::uint8_t> guid,
                 const std::string& expiry_yyyymmdd);
Bytes make_ccc(std::span<const std::uint8_t> card_id);
Bytes make_discovery(std::uint16_t pin_usage_policy);
Bytes make_key_history();
Bytes make_printed_information(const std::string& name, const std::string& expiry_yyyymmmdd);
Bytes make_certificate_container(std::span<const std::uint8_t> der, bool compress);

// The application property template SELECT answers (SP 800-73-4 part 2 table 3).
Bytes make_application_template(std::span<const std::uint8_t> algorithm_ids);

}  // namespace cardsim
