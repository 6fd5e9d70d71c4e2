// What diag makes of what it found: pure functions from the facts a check gathered (an
// error, pcscd's readers, a token's flags, a certificate's summary) to the line of the
// report. The checks (diag_pcsc.cpp, diag_pkcs11.cpp, diag_certs.cpp) do the I/O and
// hand the facts here, so the judging is tested without pcscd, a module or a card.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/piv/slots.hpp"
#include "core/pkcs11/slots.hpp"
#include "core/util/error.hpp"
#include "core/x509/certificate.hpp"

namespace cac::cli {

enum class CheckStatus { pass, warn, fail, skip };

std::string_view to_string(CheckStatus status);

// One line of the report. `subject` names what the line is about when a check reports
// once per reader, module, token or certificate (empty otherwise).
struct CheckResult {
    std::string id;
    CheckStatus status = CheckStatus::skip;
    std::string message;
    std::string hint;
    std::string subject;
    std::int64_t duration_ms = 0;
};

// Certificates within this many days of their end are worth renewing now.
inline constexpr std::int64_t kExpiringDays = 30;

// `pcscd`: establishing a PC/SC context succeeded (nullptr) or failed with `error`.
CheckResult judge_pcscd(const Error* error);

// `readers`: the names pcscd lists.
CheckResult judge_readers(const std::vector<std::string>& names);

// `card_access`: a shared connection to the card in `reader` succeeded (nullptr) or not.
// `state` says what PC/SC reports of the reader, for the message.
CheckResult judge_card_access(const Error* error, const std::string& reader,
                              const std::string& state);

// `pin_status`: the user PIN as the token's flags tell it (PKCS#11 2.40, CK_TOKEN_INFO).
CheckResult judge_pin_status(const TokenInfo& token);

// `certificate_validity`: the certificate's validity period against the time it was
// summarized at (RFC 5280 4.1.2.5: notBefore and notAfter both belong to the period).
CheckResult judge_validity(const CertificateSummary& summary, const std::string& name);

// Whether a certificate may log a user on with the card (Windows smart card logon,
// Kerberos PKINIT, TLS client authentication): a certificate without the extended key
// usage extension may serve any purpose (RFC 5280 4.2.1.12).
bool fit_for_logon(const CertificateSummary& summary);

// A certificate as the module shows it: its bytes, and the PIV key it belongs to when
// its CKA_ID or label says (piv_key_reference).
struct ModuleView {
    Bytes der;
    std::optional<std::uint8_t> key_reference;
};

// `certificate_views`: the certificate a card's container for `slot` holds (its DER)
// against the module's certificates of the card's token. The same bytes anywhere on the
// token pass (a module may label its objects its own way); else the module's
// certificate for the same key differs, or there is none: both fail.
CheckResult judge_certificate_view(const piv::CertificateSlot& slot, const Bytes& card_der,
                                   const std::vector<ModuleView>& module, const std::string& token);

}  // namespace cac::cli
