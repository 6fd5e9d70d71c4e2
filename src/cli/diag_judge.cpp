#include "cli/diag_judge.hpp"

#include <pcsclite.h>

#include <algorithm>

namespace cac::cli {
namespace {

std::string joined(const std::vector<std::string>& items) {
    std::string text;
    for (const std::string& item : items)
        text += (text.empty() ? "" : ", ") + item;
    return text;
}

CheckResult result(std::string id, CheckStatus status, std::string message, std::string hint = {},
                   std::string subject = {}) {
    return CheckResult{std::move(id),      status, std::move(message), std::move(hint),
                       std::move(subject), 0};
}

}  // namespace

CheckResult judge_pcscd(const Error* error) {
    if (error == nullptr)
        return result("pcscd", CheckStatus::pass, "pcscd answers");
    if (error->is(ErrorDomain::pcsc, std::uint32_t(SCARD_E_NO_SERVICE))) {
        return result("pcscd", CheckStatus::fail, "pcscd is not running or not reachable",
                      "start pcscd ('systemctl start pcscd.socket', or 'pcscd' as root); if "
                      "PCSCLITE_CSOCK_NAME is set, check it names pcscd's socket");
    }
    return result("pcscd", CheckStatus::fail, error->message(), error->hint());
}

CheckResult judge_readers(const std::vector<std::string>& names) {
    if (names.empty()) {
        return result("readers", CheckStatus::fail, "pcscd sees no reader",
                      "connect a reader; if it is connected, check that its driver is "
                      "installed (libccid for most USB readers) and look at pcscd's log");
    }
    return result("readers", CheckStatus::pass,
                  std::to_string(names.size()) + " reader" + (names.size() == 1 ? "" : "s") + ": " +
                      joined(names));
}

// A shared connection is what every PKCS#11 module asks for; the reader refusing it
// means another process holds the card exclusively.
CheckResult judge_card_access(const Error* error, const std::string& reader,
                              const std::string& state) {
    if (error == nullptr) {
        return result("card_access", CheckStatus::pass, "the card accepts a shared connection", {},
                      reader);
    }
    if (error->is(ErrorDomain::pcsc, std::uint32_t(SCARD_E_SHARING_VIOLATION))) {
        return result("card_access", CheckStatus::fail,
                      "another process holds the card exclusively (" + state + ")",
                      "close the program holding the card (a browser, a PIV tool, another "
                      "middleware), or unplug and re-insert the card",
                      reader);
    }
    return result("card_access", CheckStatus::fail, error->message(), error->hint(), reader);
}

CheckResult judge_pin_status(const TokenInfo& token) {
    const PinStatus& pin = token.user_pin;
    if ((token.flags & CKF_USER_PIN_INITIALIZED) == 0)
        return result("pin_status", CheckStatus::skip, "the token has no user PIN", {},
                      token.label);
    if (pin.locked) {
        return result("pin_status", CheckStatus::fail, "the user PIN is blocked",
                      "unblock it with the PUK, or have the card's issuer reset it", token.label);
    }
    if (pin.final_try) {
        return result(
            "pin_status", CheckStatus::warn, "one try left: the next wrong PIN blocks the card",
            "be sure of the PIN before entering it; ask the issuer if unsure", token.label);
    }
    if (pin.count_low) {
        return result("pin_status", CheckStatus::warn,
                      "a wrong PIN was entered since the last right one",
                      "enter the right PIN once to reset the count", token.label);
    }
    if (pin.to_be_changed) {
        return result("pin_status", CheckStatus::warn, "the PIN must be changed",
                      "change the PIN with the issuer's tool", token.label);
    }
    return result("pin_status", CheckStatus::pass, "no wrong PIN since the last right one", {},
                  token.label);
}

CheckResult judge_validity(const CertificateSummary& s, const std::string& name) {
    if (s.validity == Validity::expired) {
        return result("certificate_validity", CheckStatus::fail, "expired on " + s.not_after_text,
                      "have the card's issuer renew the certificate", name);
    }
    if (s.validity == Validity::not_yet_valid) {
        return result("certificate_validity", CheckStatus::fail,
                      "not valid before " + s.not_before_text,
                      "check the computer's clock; if it is right, the certificate is not in "
                      "force yet",
                      name);
    }
    if (s.days_left < kExpiringDays) {
        return result(
            "certificate_validity", CheckStatus::warn,
            "expires on " + s.not_after_text + ", in " + std::to_string(s.days_left) + " days",
            "have the card's issuer renew the certificate before it expires", name);
    }
    return result("certificate_validity", CheckStatus::pass,
                  "valid until " + s.not_after_text + " (" + std::to_string(s.days_left) + " days)",
                  {}, name);
}

bool fit_for_logon(const CertificateSummary& s) {
    if (!s.extended_key_usage_present)
        return true;
    for (const std::string& purpose : s.extended_key_usage) {
        if (purpose == "client_auth" || purpose == "smartcard_logon" ||
            purpose == "pkinit_client" || purpose == "any")
            return true;
    }
    return false;
}

CheckResult judge_certificate_view(const piv::CertificateSlot& slot, const Bytes& card_der,
                                   const std::vector<ModuleView>& module,
                                   const std::string& token) {
    std::string subject = std::string(slot.key_ref) + " (" + std::string(slot.name) + ")";
    std::string card_sha = sha256_hex(card_der);
    auto same = std::find_if(module.begin(), module.end(),
                             [&](const ModuleView& m) { return m.der == card_der; });
    if (same != module.end()) {
        return result(
            "certificate_views", CheckStatus::pass,
            "token \"" + token + "\" shows the card's certificate (SHA-256 " + card_sha + ")", {},
            subject);
    }
    auto reference = std::uint8_t(std::stoul(std::string(slot.key_ref), nullptr, 16));
    auto other = std::find_if(module.begin(), module.end(),
                              [&](const ModuleView& m) { return m.key_reference == reference; });
    if (other == module.end()) {
        return result("certificate_views", CheckStatus::fail,
                      "the card holds this certificate (SHA-256 " + card_sha +
                          ") but the module does not expose it on token \"" + token + "\"",
                      "the module does not read this certificate: update the module (OpenSC "
                      "for PIV), check its configuration, and compare with 'cactool certs "
                      "--pcsc'",
                      subject);
    }
    return result("certificate_views", CheckStatus::fail,
                  "the module's certificate differs from the card's: card SHA-256 " + card_sha +
                      ", module (token \"" + token + "\") SHA-256 " + sha256_hex(other->der),
                  "the module shows a stale or wrong certificate: clear its cache (OpenSC: "
                  "~/.cache/opensc, or use_file_caching = no in opensc.conf), take the card out "
                  "and put it back; 'cactool certs --pcsc' shows what the card holds",
                  subject);
}

}  // namespace cac::cli
