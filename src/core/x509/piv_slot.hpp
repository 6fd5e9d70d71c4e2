// Which PIV key a certificate object on a PKCS#11 token belongs to.
//
// PIV names its keys by key reference (NIST SP 800-73-4 Part 1, Table 4b): 9A PIV
// Authentication, 9C Digital Signature, 9D Key Management, 9E Card Authentication, and
// 82..95 the twenty retired Key Management keys. PKCS#11 has no attribute for it; each
// module encodes it in CKA_ID and CKA_LABEL its own way:
//
//   OpenSC (PIV driver)  CKA_ID 01 02 03 04 for 9A 9C 9D 9E; retired key N has the ID
//                        whose hex digits spell 4+N in decimal (05..09, then 10..24);
//                        labels "Certificate for PIV Authentication", "... Digital
//                        Signature", "... Key Management", "... Card Authentication",
//                        "Retired Certificate for Key Management N" (some versions add
//                        "X.509 " before "Certificate").
//   Yubico ykcs11        CKA_ID 1 2 3 4 for 9A 9C 9D 9E, 5..24 (binary) for 82..95,
//                        25 for F9 (attestation); labels "X.509 Certificate for PIV
//                        Authentication" ..., "X.509 Certificate for Retired Key N",
//                        "X.509 Certificate for PIV Attestation" (F9) and "X.509
//                        Certificate for PIV Attestation XX" (the attestation of key XX).
//
// The two agree on IDs 01..09 only. A label decides first; an ID is read by the scheme of
// the module when the caller knows it, and only where both schemes agree otherwise.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cac {

enum class PivModule { unknown, opensc, ykcs11 };

// From CK_INFO.manufacturerID: "OpenSC Project" or "Yubico (www.yubico.com)".
PivModule piv_module_from_manufacturer(std::string_view manufacturer_id);

// The PIV key reference (0x9A, 0x82, ...) of a certificate object; nullopt when the label
// and ID say nothing known.
std::optional<std::uint8_t> piv_key_reference(std::span<const std::uint8_t> cka_id,
                                              std::string_view label,
                                              PivModule module = PivModule::unknown);

// "9a", "82", "f9": lowercase hex, as cactool's JSON writes bytes (SPEC.md's prose and
// the PIV documents write "9A"; uppercase it for a human if wanted).
std::string piv_slot_name(std::uint8_t key_reference);

// "PIV Authentication", "Digital Signature", "Key Management", "Card Authentication",
// "Retired Key Management 1".."20", "Attestation"; empty for anything else.
std::string piv_slot_purpose(std::uint8_t key_reference);

}  // namespace cac
