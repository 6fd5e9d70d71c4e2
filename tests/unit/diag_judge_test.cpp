// diag's judging, from the facts a check gathered to its line of the report. Expected
// values: PC/SC's and PKCS#11's codes and flags as their headers define them, the
// validity rules of RFC 5280 4.1.2.5 (notBefore and notAfter belong to the period) and
// 4.2.1.12 (extended key usage), and a test certificate's dates as openssl prints them.
#include <doctest/doctest.h>
#include <pcsclite.h>

#include <cctype>
#include <cstring>
#include <filesystem>

#include "cli/diag_judge.hpp"
#include "core/x509/bundle.hpp"
#include "test_support.hpp"

using namespace cac;
using namespace cac::cli;

namespace {

// PKCS#11 2.40 section 3.2: a token's answer to C_GetTokenInfo with these flags.
TokenInfo token_with(CK_FLAGS flags) {
    CK_TOKEN_INFO raw{};
    std::memset(raw.label, ' ', sizeof raw.label);
    std::memcpy(raw.label, "PIV card", 8);
    raw.flags = flags;
    return decode_token_info(raw);
}

constexpr CK_FLAGS kIssued = CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED | CKF_LOGIN_REQUIRED;

// `openssl x509 -noout -dates` of this certificate: notBefore=Mar 21 00:00:00 2030 GMT,
// notAfter=Dec 1 23:59:59 2032 GMT; extendedKeyUsage clientAuth, smartcard logon, any.
constexpr const char* kCard12 =
    "05-parser-edge-cases/icam_card12_piv_auth_NOT_YET_VALID_until_2030.crt";
constexpr std::time_t kNotBefore = 1900281600;  // 2030-03-21T00:00:00Z
constexpr std::time_t kNotAfter = 1985558399;   // 2032-12-01T23:59:59Z
constexpr std::time_t kDay = 86400;

// openssl's SHA-256 fingerprint of a test certificate (PEM), lowercase without colons.
std::string openssl_sha256(const char* relative) {
    std::string line =
        test::run_command("openssl x509 -noout -fingerprint -sha256 -in " +
                          test::shell_quoted(std::filesystem::path(CACTOOL_TESTDATA) / relative));
    std::string hex;
    for (char c : line.substr(line.find('=') + 1)) {
        if (std::isxdigit(static_cast<unsigned char>(c)))
            hex += char(std::tolower(static_cast<unsigned char>(c)));
    }
    return hex;
}

constexpr const char* kCard13 = "05-parser-edge-cases/icam_card13_piv_auth_EXPIRED_2014.crt";

const piv::CertificateSlot& piv_authentication() {
    return piv::certificate_slots()[0];  // 9A
}

CertificateSummary card12_at(std::time_t now) {
    return summarize_certificate(decode_certificates(test::testdata_bytes(kCard12)).at(0), now);
}

}  // namespace

TEST_SUITE("diag judging") {
    TEST_CASE("pcscd: reachable, not running, or another PC/SC error with its own words") {
        CHECK(judge_pcscd(nullptr).status == CheckStatus::pass);

        Error absent(ErrorDomain::pcsc, std::uint32_t(SCARD_E_NO_SERVICE), "SCardEstablishContext");
        CheckResult down = judge_pcscd(&absent);
        CHECK(down.id == "pcscd");
        CHECK(down.status == CheckStatus::fail);
        CHECK(down.message == "pcscd is not running or not reachable");
        CHECK(down.hint.find("start pcscd") != std::string::npos);

        Error other(ErrorDomain::pcsc, std::uint32_t(SCARD_F_INTERNAL_ERROR),
                    "SCardEstablishContext");
        CheckResult odd = judge_pcscd(&other);
        CHECK(odd.status == CheckStatus::fail);
        CHECK(odd.message == other.message());
    }

    TEST_CASE("readers: none is a failure with a driver hint; each listed otherwise") {
        CheckResult none = judge_readers({});
        CHECK(none.status == CheckStatus::fail);
        CHECK(none.hint.find("driver") != std::string::npos);
        CheckResult two = judge_readers({"Reader A 00 00", "Reader B 00 00"});
        CHECK(two.status == CheckStatus::pass);
        CHECK(two.message == "2 readers: Reader A 00 00, Reader B 00 00");
        CHECK(judge_readers({"Reader A 00 00"}).message == "1 reader: Reader A 00 00");
    }

    TEST_CASE("card access: a sharing violation is another process holding the card") {
        CheckResult ok = judge_card_access(nullptr, "Reader A 00 00", "present");
        CHECK(ok.status == CheckStatus::pass);
        CHECK(ok.subject == "Reader A 00 00");

        Error held(ErrorDomain::pcsc, std::uint32_t(SCARD_E_SHARING_VIOLATION), "SCardConnect");
        CheckResult busy = judge_card_access(&held, "Reader A 00 00", "exclusive");
        CHECK(busy.status == CheckStatus::fail);
        CHECK(busy.message == "another process holds the card exclusively (exclusive)");
        CHECK(busy.hint.find("close the program") != std::string::npos);
        CHECK(busy.subject == "Reader A 00 00");

        Error gone(ErrorDomain::pcsc, std::uint32_t(SCARD_W_REMOVED_CARD), "SCardConnect");
        CheckResult removed = judge_card_access(&gone, "Reader A 00 00", "present");
        CHECK(removed.status == CheckStatus::fail);
        CHECK(removed.message == gone.message());
    }

    TEST_CASE("PIN status from the token flags: blocked fails, the warning flags warn") {
        CHECK(judge_pin_status(token_with(kIssued)).status == CheckStatus::pass);
        CHECK(judge_pin_status(token_with(kIssued)).subject == "PIV card");

        CheckResult locked = judge_pin_status(token_with(kIssued | CKF_USER_PIN_LOCKED));
        CHECK(locked.status == CheckStatus::fail);
        CHECK(locked.hint.find("PUK") != std::string::npos);
        // A locked PIN is reported as locked even when a module also sets the others.
        CHECK(judge_pin_status(token_with(kIssued | CKF_USER_PIN_LOCKED | CKF_USER_PIN_FINAL_TRY |
                                          CKF_USER_PIN_COUNT_LOW))
                  .status == CheckStatus::fail);

        CheckResult last = judge_pin_status(token_with(kIssued | CKF_USER_PIN_FINAL_TRY));
        CHECK(last.status == CheckStatus::warn);
        CHECK(last.message.find("one try left") != std::string::npos);
        CHECK(
            judge_pin_status(token_with(kIssued | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_COUNT_LOW))
                .message == last.message);

        CHECK(judge_pin_status(token_with(kIssued | CKF_USER_PIN_COUNT_LOW)).status ==
              CheckStatus::warn);
        CHECK(judge_pin_status(token_with(kIssued | CKF_USER_PIN_TO_BE_CHANGED)).status ==
              CheckStatus::warn);
        // The SO PIN's flags say nothing of the user PIN.
        CHECK(judge_pin_status(token_with(kIssued | CKF_SO_PIN_LOCKED | CKF_SO_PIN_FINAL_TRY))
                  .status == CheckStatus::pass);
        CHECK(judge_pin_status(token_with(CKF_TOKEN_INITIALIZED)).status == CheckStatus::skip);
    }

    TEST_CASE("validity window: before, from notBefore, the 30-day warning, through notAfter") {
        CheckResult early = judge_validity(card12_at(kNotBefore - 1), "9A");
        CHECK(early.status == CheckStatus::fail);
        CHECK(early.message == "not valid before 2030-03-21T00:00:00Z");
        CHECK(early.hint.find("clock") != std::string::npos);
        CHECK(early.subject == "9A");

        CHECK(judge_validity(card12_at(kNotBefore), "9A").status == CheckStatus::pass);

        // 30 whole days left is not yet "within 30 days"; a second later it is.
        CheckResult thirty = judge_validity(card12_at(kNotAfter - 30 * kDay), "9A");
        CHECK(thirty.status == CheckStatus::pass);
        CHECK(thirty.message == "valid until 2032-12-01T23:59:59Z (30 days)");
        CheckResult soon = judge_validity(card12_at(kNotAfter - 30 * kDay + 1), "9A");
        CHECK(soon.status == CheckStatus::warn);
        CHECK(soon.message == "expires on 2032-12-01T23:59:59Z, in 29 days");
        CHECK(soon.hint.find("renew") != std::string::npos);

        // notAfter itself still belongs to the period; the second after it does not.
        CheckResult last = judge_validity(card12_at(kNotAfter), "9A");
        CHECK(last.status == CheckStatus::warn);
        CHECK(last.message == "expires on 2032-12-01T23:59:59Z, in 0 days");
        CheckResult expired = judge_validity(card12_at(kNotAfter + 1), "9A");
        CHECK(expired.status == CheckStatus::fail);
        CHECK(expired.message == "expired on 2032-12-01T23:59:59Z");
        CHECK(expired.hint.find("renew") != std::string::npos);
    }

    TEST_CASE("certificate views: the card's bytes on the token pass, other bytes fail") {
        REQUIRE(piv_authentication().key_ref == "9A");
        Bytes card = decode_certificates(test::testdata_bytes(kCard12)).at(0);
        Bytes other = decode_certificates(test::testdata_bytes(kCard13)).at(0);
        std::string card_sha = openssl_sha256(kCard12);
        std::string other_sha = openssl_sha256(kCard13);
        REQUIRE(card_sha.size() == 64);

        // Under any key: a module may name its objects its own way.
        CheckResult same = judge_certificate_view(piv_authentication(), card,
                                                  {{other, 0x9C}, {card, std::nullopt}}, "T");
        CHECK(same.status == CheckStatus::pass);
        CHECK(same.subject == "9A (PIV Authentication)");
        CHECK(same.message.find(card_sha) != std::string::npos);

        CheckResult differs =
            judge_certificate_view(piv_authentication(), card, {{other, 0x9A}}, "T");
        CHECK(differs.status == CheckStatus::fail);
        CHECK(differs.message.find("card SHA-256 " + card_sha) != std::string::npos);
        CHECK(differs.message.find("SHA-256 " + other_sha) != std::string::npos);
        CHECK(differs.hint.find("cache") != std::string::npos);

        // Not on the token at all, or only another key's certificate: not exposed.
        for (const std::vector<ModuleView>& module :
             {std::vector<ModuleView>{}, std::vector<ModuleView>{{other, 0x9E}}}) {
            CheckResult missing = judge_certificate_view(piv_authentication(), card, module, "T");
            CHECK(missing.status == CheckStatus::fail);
            CHECK(missing.message.find("does not expose it") != std::string::npos);
            CHECK(missing.message.find(card_sha) != std::string::npos);
            CHECK_FALSE(missing.hint.empty());
        }
    }

    TEST_CASE("fitness for logon by extended key usage") {
        CHECK(fit_for_logon(card12_at(kNotBefore)));

        CertificateSummary s;
        s.extended_key_usage_present = false;
        CHECK(fit_for_logon(s));  // no extension: any purpose
        s.extended_key_usage_present = true;
        CHECK_FALSE(fit_for_logon(s));  // the extension with no purpose known here
        for (const char* purpose : {"client_auth", "smartcard_logon", "pkinit_client", "any"}) {
            s.extended_key_usage = {"email_protection", purpose};
            CHECK(fit_for_logon(s));
        }
        s.extended_key_usage = {"email_protection", "code_signing", "server_auth"};
        CHECK_FALSE(fit_for_logon(s));
    }
}
