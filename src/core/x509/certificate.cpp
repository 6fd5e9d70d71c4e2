#include "core/x509/certificate.hpp"

#include <openssl/err.h>
#include <openssl/objects.h>

#include <array>
#include <cstdio>

#include "core/util/error.hpp"
#include "core/x509/openssl.hpp"
#include "core/x509/public_key.hpp"

namespace cac {
namespace {

constexpr std::int64_t kSecondsPerDay = 86400;
// Beyond this a serial's decimal form costs more than it is worth (see the header).
constexpr int kMaxDecimalSerialBytes = 64;

[[noreturn]] void fail(std::string reason) {
    throw Error(CoreCode::certificate_invalid, "parse certificate", std::move(reason));
}

// Days since 1970-01-01 of a proleptic Gregorian date; the usual era arithmetic, exact
// for every year an X.509 time can spell (0000-9999), and free of the process time zone.
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
    year -= month <= 2 ? 1 : 0;
    const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    const auto year_of_era = static_cast<unsigned>(year - era * 400);
    const unsigned day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    const unsigned day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

std::int64_t unix_time(const std::tm& tm) {
    const std::int64_t days =
        days_from_civil(tm.tm_year + 1900LL, static_cast<unsigned>(tm.tm_mon + 1),
                        static_cast<unsigned>(tm.tm_mday));
    return days * kSecondsPerDay + tm.tm_hour * 3600LL + tm.tm_min * 60LL + tm.tm_sec;
}

std::int64_t floor_days(std::int64_t seconds) {
    std::int64_t days = seconds / kSecondsPerDay;
    if (seconds % kSecondsPerDay != 0 && seconds < 0) {
        --days;
    }
    return days;
}

std::int64_t read_time(const ASN1_TIME* time, const char* field) {
    std::tm tm{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
        fail(std::string("malformed ") + field + ": " + ossl::take_error("not a valid time"));
    }
    return unix_time(tm);
}

void read_validity(X509* cert, std::time_t now, CertificateSummary& out) {
    out.not_before = read_time(X509_get0_notBefore(cert), "notBefore");
    out.not_after = read_time(X509_get0_notAfter(cert), "notAfter");
    out.not_before_text = format_rfc3339(out.not_before);
    out.not_after_text = format_rfc3339(out.not_after);
    const auto at = static_cast<std::int64_t>(now);
    out.days_left = floor_days(out.not_after - at);
    if (at < out.not_before) {
        out.validity = Validity::not_yet_valid;
    } else if (at > out.not_after) {
        out.validity = Validity::expired;
    } else {
        out.validity = Validity::valid;
    }
}

void read_serial(X509* cert, CertificateSummary& out) {
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
    const int length = ASN1_STRING_length(serial);
    std::span<const std::uint8_t> magnitude(ASN1_STRING_get0_data(serial),
                                            static_cast<std::size_t>(length));
    // OpenSSL keeps the sign in the string type and the magnitude in the bytes.
    const bool negative = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;
    out.serial = (negative ? "-" : "") + (magnitude.empty() ? "00" : to_hex(magnitude));
    if (length > kMaxDecimalSerialBytes) {
        return;
    }
    ossl::BignumPtr number(ASN1_INTEGER_to_BN(serial, nullptr));
    ossl::OpenSslString decimal(number ? BN_bn2dec(number.get()) : nullptr);
    if (decimal) {
        out.serial_decimal = decimal.get();
    }
}

// The extension decoded by OpenSSL, nullptr when absent; throws when it is present but
// damaged or repeated (RFC 5280 4.2 allows one instance of each).
void* find_extension(X509* cert, int nid, const char* name) {
    int critical = -1;
    void* value = X509_get_ext_d2i(cert, nid, &critical, nullptr);
    if (critical == -2) {
        fail(std::string("repeated ") + name + " extension");
    }
    if (value == nullptr && critical >= 0) {
        fail(std::string("malformed ") + name +
             " extension: " + ossl::take_error("cannot be decoded"));
    }
    return value;
}

void read_key_usage(X509* cert, CertificateSummary& out) {
    // Bit numbers of KeyUsage, RFC 5280 4.2.1.3.
    static constexpr std::array<const char*, 9> kNames = {
        "digital_signature", "non_repudiation", "key_encipherment",
        "data_encipherment", "key_agreement",   "key_cert_sign",
        "crl_sign",          "encipher_only",   "decipher_only"};
    ossl::BitStringPtr bits(
        static_cast<ASN1_BIT_STRING*>(find_extension(cert, NID_key_usage, "keyUsage")));
    out.key_usage_present = bits != nullptr;
    for (std::size_t bit = 0; bits && bit < kNames.size(); ++bit) {
        if (ASN1_BIT_STRING_get_bit(bits.get(), static_cast<int>(bit))) {
            out.key_usage.emplace_back(kNames[bit]);
        }
    }
}

std::string purpose_name(const ASN1_OBJECT* purpose) {
    // RFC 5280 4.2.1.12, Microsoft's smart card logon, FIPS 201's card authentication
    // (NIST SP 800-78 and the PIV certificate profile) and RFC 4556's PKINIT client.
    struct Known {
        const char* oid;
        const char* name;
    };
    static constexpr std::array<Known, 10> kKnown = {{
        {"1.3.6.1.5.5.7.3.1", "server_auth"},
        {"1.3.6.1.5.5.7.3.2", "client_auth"},
        {"1.3.6.1.5.5.7.3.3", "code_signing"},
        {"1.3.6.1.5.5.7.3.4", "email_protection"},
        {"1.3.6.1.5.5.7.3.8", "time_stamping"},
        {"1.3.6.1.5.5.7.3.9", "ocsp_signing"},
        {"2.5.29.37.0", "any"},
        {"1.3.6.1.4.1.311.20.2.2", "smartcard_logon"},
        {"2.16.840.1.101.3.6.8", "piv_card_auth"},
        {"1.3.6.1.5.2.3.4", "pkinit_client"},
    }};
    const std::string oid = ossl::oid_text(purpose);
    for (const Known& known : kKnown) {
        if (oid == known.oid) {
            return known.name;
        }
    }
    return oid;
}

void read_extended_key_usage(X509* cert, CertificateSummary& out) {
    ossl::ObjectStackPtr purposes(static_cast<STACK_OF(ASN1_OBJECT)*>(
        find_extension(cert, NID_ext_key_usage, "extendedKeyUsage")));
    out.extended_key_usage_present = purposes != nullptr;
    const int count = purposes ? sk_ASN1_OBJECT_num(purposes.get()) : 0;
    for (int i = 0; i < count; ++i) {
        out.extended_key_usage.push_back(purpose_name(sk_ASN1_OBJECT_value(purposes.get(), i)));
    }
}

void read_basic_constraints(X509* cert, CertificateSummary& out) {
    ossl::BasicConstraintsPtr constraints(static_cast<BASIC_CONSTRAINTS*>(
        find_extension(cert, NID_basic_constraints, "basicConstraints")));
    if (!constraints) {
        return;
    }
    out.is_ca = constraints->ca != 0;
    std::int64_t length = 0;
    if (constraints->pathlen && ASN1_INTEGER_get_int64(&length, constraints->pathlen) == 1) {
        out.path_length = static_cast<long>(length);
    }
}

}  // namespace

std::string sha256_hex(std::span<const std::uint8_t> der) {
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    // The digest fetched once: EVP_sha256() would be looked up in the provider on every call.
    const EVP_MD* md = ossl::sha256();
    if (EVP_Digest(der.data(), der.size(), digest.data(), &length, md ? md : EVP_sha256(),
                   nullptr) != 1) {
        throw Error(CoreCode::internal, "compute SHA-256", ossl::take_error("digest failed"));
    }
    return to_hex(std::span(digest.data(), length));
}

std::string_view to_string(Validity validity) {
    switch (validity) {
        case Validity::valid:
            return "valid";
        case Validity::expired:
            return "expired";
        case Validity::not_yet_valid:
            return "not_yet_valid";
    }
    return "valid";
}

std::string format_rfc3339(std::int64_t unix_time) {
    // The inverse of days_from_civil.
    const std::int64_t days = floor_days(unix_time);
    const std::int64_t seconds = unix_time - days * kSecondsPerDay;
    const std::int64_t shifted = days + 719468;
    const std::int64_t era = (shifted >= 0 ? shifted : shifted - 146096) / 146097;
    const auto day_of_era = static_cast<unsigned>(shifted - era * 146097);
    const unsigned year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    const unsigned day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const unsigned month_index = (5 * day_of_year + 2) / 153;
    const unsigned day = day_of_year - (153 * month_index + 2) / 5 + 1;
    const unsigned month = month_index < 10 ? month_index + 3 : month_index - 9;
    const std::int64_t year =
        static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0);
    // Every field is in range by construction; the casts only tell the formatter so.
    char text[32];
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02u:%02u:%02uZ", static_cast<int>(year),
                  month, day, static_cast<unsigned>(seconds / 3600) % 24u,
                  static_cast<unsigned>(seconds / 60 % 60) % 60u,
                  static_cast<unsigned>(seconds % 60) % 60u);
    return text;
}

CertificateSummary summarize_certificate(std::span<const std::uint8_t> der, std::time_t now) {
    if (der.empty()) {
        fail("no data");
    }
    if (der.size() > kMaxCertificateSize) {
        fail("too large: " + std::to_string(der.size()) + " bytes, the limit is " +
             std::to_string(kMaxCertificateSize));
    }
    ERR_clear_error();
    bool trailing = false;
    // Without its key decoded, which is most of what a parse costs; read_public_key reads
    // the key's algorithm and size from the encoding.
    ossl::X509Ptr cert = ossl::parse_der_keyless(der, &trailing);
    if (trailing) {
        fail("extra bytes after the certificate");
    }
    if (!cert) {
        fail(ossl::take_error("not a DER certificate"));
    }

    CertificateSummary out;
    out.der.assign(der.begin(), der.end());
    out.subject = ossl::name_text(X509_get_subject_name(cert.get()));
    out.issuer = ossl::name_text(X509_get_issuer_name(cert.get()));
    read_serial(cert.get(), out);
    read_validity(cert.get(), now, out);
    read_public_key(cert.get(), der, out);
    read_key_usage(cert.get(), out);
    read_extended_key_usage(cert.get(), out);
    read_basic_constraints(cert.get(), out);
    out.self_issued =
        X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())) == 0;
    out.sha256 = sha256_hex(der);
    return out;
}

bool verify_self_signature(const CertificateSummary& summary) {
    if (!summary.self_issued) {
        return false;
    }
    ERR_clear_error();
    ossl::X509Ptr cert = ossl::parse_der(summary.der);
    EVP_PKEY* key = cert ? X509_get0_pubkey(cert.get()) : nullptr;
    const bool verified = key != nullptr && X509_verify(cert.get(), key) == 1;
    ERR_clear_error();
    return verified;
}

}  // namespace cac
