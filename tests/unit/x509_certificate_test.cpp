// Certificate summaries checked field by field against `openssl x509`, run on the same
// DER at test time, so the expected values cannot drift from the files.
#include <doctest/doctest.h>

#include "test_support.hpp"

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/util/error.hpp"
#include "core/x509/bundle.hpp"
#include "core/x509/certificate.hpp"

using namespace cac;
namespace fs = std::filesystem;

namespace {

std::string run(const std::string& command) {
    return test::run_command(command + " 2>/dev/null");
}
using test::shell_quoted;

const fs::path kData = CACTOOL_TESTDATA;
// 2026-12-04T00:00:00Z, the date SOURCES.md gives its validity flags for.
constexpr std::time_t kNow = 1796342400;

Bytes read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot open " << path);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

// A DER file in a private temporary directory that openssl can read.
class TempDer {
  public:
    explicit TempDer(const Bytes& der) {
        char name[] = "/tmp/cactool-x509-XXXXXX";
        const int fd = mkstemp(name);
        REQUIRE(fd >= 0);
        path_ = name;
        REQUIRE(write(fd, der.data(), der.size()) == static_cast<ssize_t>(der.size()));
        close(fd);
    }
    ~TempDer() { fs::remove(path_); }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        out.push_back(line);
    }
    return out;
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(text);
    while (std::getline(in, item, ',')) {
        out.push_back(trim(item));
    }
    return out;
}

// "2032-12-01 23:59:59Z" as printed by -dateopt iso_8601.
std::int64_t parse_iso(const std::string& text) {
    std::tm tm{};
    REQUIRE(strptime(text.c_str(), "%Y-%m-%d %H:%M:%S", &tm) != nullptr);
    return static_cast<std::int64_t>(timegm(&tm));
}

// OpenSSL's printed names of extension values, mapped to cactool's.
const std::map<std::string, std::string> kKeyUsageNames = {
    {"Digital Signature", "digital_signature"},
    {"Non Repudiation", "non_repudiation"},
    {"Key Encipherment", "key_encipherment"},
    {"Data Encipherment", "data_encipherment"},
    {"Key Agreement", "key_agreement"},
    {"Certificate Sign", "key_cert_sign"},
    {"CRL Sign", "crl_sign"},
    {"Encipher Only", "encipher_only"},
    {"Decipher Only", "decipher_only"}};

const std::map<std::string, std::string> kPurposeNames = {
    {"TLS Web Server Authentication", "server_auth"},
    {"TLS Web Client Authentication", "client_auth"},
    {"Code Signing", "code_signing"},
    {"E-mail Protection", "email_protection"},
    {"Time Stamping", "time_stamping"},
    {"OCSP Signing", "ocsp_signing"},
    {"Any Extended Key Usage", "any"},
    {"Microsoft Smartcard Login", "smartcard_logon"},
    {"PKINIT Client Auth", "pkinit_client"},
    {"SSH Client", "1.3.6.1.5.5.7.3.21"},
    // OpenSSL has no name for FIPS 201's id-PIV-cardAuth; the PIV profile gives the OID.
    {"2.16.840.1.101.3.6.8", "piv_card_auth"}};

std::vector<std::string> mapped(const std::string& printed,
                                const std::map<std::string, std::string>& names) {
    std::vector<std::string> out;
    for (const std::string& item : split_list(printed)) {
        const bool dotted = !item.empty() && std::isdigit(static_cast<unsigned char>(item[0]));
        auto it = names.find(item);
        INFO("openssl printed " << item);
        REQUIRE((dotted || it != names.end()));
        out.push_back(it != names.end() ? it->second : item);
    }
    return out;
}

struct Expected {
    std::map<std::string, std::string> fields;  // subject, issuer, serial, notBefore, ...
    std::string text;                           // -text output
};

Expected oracle(const fs::path& der_file) {
    Expected expected;
    const std::string base = "openssl x509 -inform DER -noout -in " + shell_quoted(der_file);
    for (const std::string& line :
         lines(run(base + " -subject -issuer -serial -startdate -enddate -fingerprint -sha256"
                          " -nameopt RFC2253,-esc_msb -dateopt iso_8601"))) {
        const auto equals = line.find('=');
        REQUIRE(equals != std::string::npos);
        expected.fields[line.substr(0, equals)] = line.substr(equals + 1);
    }
    expected.text = run(base + " -text");
    return expected;
}

// The line after `heading` in -text output, or nullopt when the heading is absent.
std::optional<std::string> value_after(const std::string& text, const std::string& heading) {
    const std::vector<std::string> all = lines(text);
    for (std::size_t i = 0; i + 1 < all.size(); ++i) {
        if (all[i].find(heading) != std::string::npos) {
            return trim(all[i + 1]);
        }
    }
    return std::nullopt;
}

std::string field_of(const std::string& text, const std::string& label) {
    for (const std::string& line : lines(text)) {
        const auto at = line.find(label);
        if (at != std::string::npos) {
            return trim(line.substr(at + label.size()));
        }
    }
    return {};
}

// How many bytes -text prints under "pub:": the raw public value of an EdDSA key.
int printed_public_bytes(const std::string& text) {
    const std::vector<std::string> all = lines(text);
    auto line = std::find_if(all.begin(), all.end(),
                             [](const std::string& l) { return trim(l) == "pub:"; });
    REQUIRE(line != all.end());
    int bytes = 0;
    for (++line; line != all.end() &&
                 trim(*line).find_first_not_of("0123456789abcdef:") == std::string::npos;
         ++line) {
        bytes += static_cast<int>(std::count(line->begin(), line->end(), ':'));
        bytes += line->back() == ':' ? 0 : 1;  // the last byte has no colon after it
    }
    return bytes;
}

void check_key(const CertificateSummary& summary, const std::string& text) {
    const std::string algorithm = field_of(text, "Public Key Algorithm:");
    const std::map<std::string, std::string> kTypes = {
        {"rsaEncryption", "rsa"}, {"id-ecPublicKey", "ec"}, {"rsassaPss", "rsa_pss"},
        {"ED25519", "ed25519"},   {"ED448", "ed448"},       {"dsaEncryption", "dsa"}};
    REQUIRE(kTypes.count(algorithm) == 1);
    CHECK(summary.key_type == kTypes.at(algorithm));
    REQUIRE(summary.key_bits.has_value());
    if (summary.key_type == "ed25519" || summary.key_type == "ed448") {
        // -text prints no size for these; OpenSSL's size is that of the encoded value
        // (RFC 8032: 32 bytes for Ed25519, 57 for Ed448).
        CHECK(*summary.key_bits == 8 * printed_public_bytes(text));
    } else {
        CHECK(*summary.key_bits == std::stoi(field_of(text, "Public-Key: (")));
    }
    // Explicit curve parameters print no curve name, though OpenSSL's key knows the named
    // curve they spell out; the test that makes such a key checks it.
    const bool explicit_curve = text.find("Field Type:") != std::string::npos;
    if (summary.key_type != "ec") {
        CHECK(summary.curve.empty());
    } else if (!explicit_curve) {
        const std::string nist = field_of(text, "NIST CURVE:");
        CHECK(summary.curve == (nist.empty() ? field_of(text, "ASN1 OID:") : nist));
    }
}

void check_extensions(const CertificateSummary& summary, const std::string& text) {
    const auto usage = value_after(text, "X509v3 Key Usage");
    CHECK(summary.key_usage_present == usage.has_value());
    CHECK(summary.key_usage ==
          (usage ? mapped(*usage, kKeyUsageNames) : std::vector<std::string>{}));
    const auto purposes = value_after(text, "X509v3 Extended Key Usage");
    CHECK(summary.extended_key_usage_present == purposes.has_value());
    CHECK(summary.extended_key_usage ==
          (purposes ? mapped(*purposes, kPurposeNames) : std::vector<std::string>{}));
    const auto constraints = value_after(text, "X509v3 Basic Constraints");
    CHECK(summary.is_ca == (constraints && constraints->find("CA:TRUE") != std::string::npos));
}

void check_against_openssl(const Bytes& der) {
    TempDer file(der);
    const Expected expected = oracle(file.path());
    const CertificateSummary summary = summarize_certificate(der, kNow);
    INFO("subject " << summary.subject);

    CHECK(summary.der == der);
    CHECK(summary.subject == expected.fields.at("subject"));
    CHECK(summary.issuer == expected.fields.at("issuer"));
    CHECK(summary.serial == lower(expected.fields.at("serial")));

    std::string fingerprint = lower(expected.fields.at("sha256 Fingerprint"));
    fingerprint.erase(std::remove(fingerprint.begin(), fingerprint.end(), ':'), fingerprint.end());
    CHECK(summary.sha256 == fingerprint);

    const std::int64_t not_before = parse_iso(expected.fields.at("notBefore"));
    const std::int64_t not_after = parse_iso(expected.fields.at("notAfter"));
    CHECK(summary.not_before == not_before);
    CHECK(summary.not_after == not_after);
    std::string before_text = expected.fields.at("notBefore");
    std::string after_text = expected.fields.at("notAfter");
    before_text[10] = 'T';
    after_text[10] = 'T';
    CHECK(summary.not_before_text == before_text);
    CHECK(summary.not_after_text == after_text);
    CHECK(summary.days_left == static_cast<std::int64_t>(std::floor((not_after - kNow) / 86400.0)));
    const Validity validity = kNow < not_before  ? Validity::not_yet_valid
                              : kNow > not_after ? Validity::expired
                                                 : Validity::valid;
    CHECK(summary.validity == validity);

    check_key(summary, expected.text);
    check_extensions(summary, expected.text);
    CHECK(summary.self_issued == (expected.fields.at("subject") == expected.fields.at("issuer")));
    if (summary.self_issued) {
        // The certificate as its own root, its signature checked; a key-rollover
        // certificate (same name, signed by the previous key) finds no issuer. -CAfile
        // reads PEM only.
        const std::string pem = shell_quoted(fs::path(file.path().string() + ".pem"));
        const std::string verdict =
            run("openssl x509 -inform DER -in " + shell_quoted(file.path()) + " -out " + pem +
                " && openssl verify -no_check_time -check_ss_sig -CAfile " + pem + " " + pem +
                "; rm -f " + pem);
        CHECK(verify_self_signature(summary) == (verdict.find(": OK") != std::string::npos));
    } else {
        CHECK_FALSE(verify_self_signature(summary));
    }
}

// How many certificates openssl finds in a file, by its own readers.
std::size_t openssl_count(const fs::path& file) {
    const std::string name = file.filename().string();
    std::string command;
    if (name.ends_with(".p7b")) {
        command = "openssl pkcs7 -print_certs -noout -in " + shell_quoted(file);
    } else if (name.ends_with(".der.cer")) {
        command = "openssl x509 -inform DER -noout -subject -in " + shell_quoted(file);
    } else {
        command = "openssl crl2pkcs7 -nocrl -certfile " + shell_quoted(file) +
                  " 2>/dev/null | openssl pkcs7 -print_certs -noout";
    }
    std::size_t count = 0;
    for (const std::string& line : lines(run(command))) {
        count += line.starts_with("subject=") ? 1 : 0;
    }
    return count;
}

// Each certificate of a file (every `stride`th of a long bundle) against openssl.
void check_file(const fs::path& file, std::size_t stride = 1) {
    INFO("file " << file.string());
    const std::vector<Bytes> certs = decode_certificates(read_bytes(file));
    CHECK(certs.size() == openssl_count(file));
    for (std::size_t i = 0; i < certs.size(); i += stride) {
        INFO("certificate " << i + 1);
        check_against_openssl(certs[i]);
    }
}

std::vector<fs::path> files_in(const fs::path& directory) {
    std::vector<fs::path> out;
    for (const auto& entry : fs::recursive_directory_iterator(directory)) {
        if (entry.is_regular_file()) {
            out.push_back(entry.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

CertificateSummary summary_of(const fs::path& file, std::time_t now = kNow) {
    return summarize_certificate(decode_certificates(read_bytes(file)).at(0), now);
}

}  // namespace

TEST_CASE("every parser edge case matches openssl") {
    const auto files = files_in(kData / "05-parser-edge-cases");
    REQUIRE(files.size() >= 9);
    for (const fs::path& file : files) {
        check_file(file);
    }
}

TEST_CASE("every PIV test card certificate matches openssl") {
    for (const fs::path& file : files_in(kData / "02-piv-test-certs")) {
        check_file(file);
    }
}

TEST_CASE("a sample of CA certificates matches openssl") {
    for (const char* name :
         {"dod/DoD_Root_CA_5.pem", "dod/DOD_DERILITY_CA-5.pem", "dod/DOD_SW_CA-85.pem",
          "dod/DOD_EMAIL_CA-59.pem", "chains/DOD_ID_CA-65_to_FCPCA_G2_via_FBCA_G4_5certs.pem",
          "federal/DigiCert_Federal_SSP_Intermediate_CA_-_G5.der.cer",
          "federal/DigiCert_Federal_SSP_Intermediate_CA_-_G6.crlf.pem.cer",
          "federal/US_Treasury_Root_CA_EXPIRED.pem.cer", "federal/ORC_SSP_4_EXPIRED.der.cer"}) {
        check_file(kData / "01-ca-certs" / name);
    }
    check_file(kData / "01-ca-certs/federal/CACertificatesValidatingToFederalCommonPolicyG2.p7b",
               15);
}

TEST_CASE("a negative serial keeps its sign") {
    // pyca/cryptography's vector; SOURCES.md: the serial is -18008675309 = -0x04316693ED.
    const auto summary = summary_of(kData / "05-parser-edge-cases/negative_serial_number.pem");
    CHECK(summary.serial == "-04316693ed");
    CHECK(summary.serial_decimal == "-18008675309");
    CHECK(summary.validity == Validity::expired);
}

TEST_CASE("positive serials have a decimal form") {
    // openssl prints serial=1659 in hex; 0x1659 is 5721.
    const auto summary =
        summary_of(kData / "05-parser-edge-cases/icam_root_generalizedtime_NOT_YET_VALID_2051.crt");
    CHECK(summary.serial == "1659");
    CHECK(summary.serial_decimal == "5721");
}

TEST_CASE("key sizes and curves of the documented files") {
    const auto rsa4096 = summary_of(kData / "05-parser-edge-cases/icam_root_rsa4096.crt");
    CHECK(rsa4096.key_type == "rsa");
    CHECK(rsa4096.key_bits == 4096);
    CHECK(rsa4096.is_ca);
    CHECK(verify_self_signature(rsa4096));

    const auto p384 = summary_of(kData /
                                 "02-piv-test-certs/icam-test-cards/pki/"
                                 "ICAM_Test_Card_PIV_P-384_Signing_CA_-_gold_gen3.crt");
    CHECK(p384.key_type == "ec");
    CHECK(p384.key_bits == 384);
    CHECK(p384.curve == "P-384");

    const auto p256 = summary_of(kData /
                                 "02-piv-test-certs/icam-test-cards/"
                                 "card37-golden-piv-ecc-p256-cardauth/"
                                 "6_ICAM_PIV_Card_Auth_SP_800-73-4.crt");
    CHECK(p256.curve == "P-256");
    CHECK(p256.extended_key_usage == std::vector<std::string>{"piv_card_auth"});
    CHECK_FALSE(p256.self_issued);
    CHECK_FALSE(verify_self_signature(p256));
}

namespace {

// A private temporary directory for the certificates openssl makes at test time.
class TempDir {
  public:
    TempDir() {
        char name[] = "/tmp/cactool-x509-XXXXXX";
        REQUIRE(mkdtemp(name) != nullptr);
        path_ = name;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    std::string file(const std::string& name) const { return shell_quoted(path_ / name); }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

// A self-signed certificate for a key that `openssl genpkey <options>` makes.
Bytes generated_certificate(const std::string& genpkey_options) {
    TempDir dir;
    run("openssl genpkey " + genpkey_options + " -out " + dir.file("key.pem") +
        " && openssl req -x509 -new -key " + dir.file("key.pem") +
        " -subj /CN=generated -days 30 -outform DER -out " + dir.file("cert.der"));
    return read_bytes(dir.path() / "cert.der");
}

// The same as the certificate's own key in compressed form (X9.62 0x02/0x03 prefix), which
// openssl req never writes.
Bytes compressed_point_certificate(const std::string& curve) {
    TempDir dir;
    const std::string key = dir.file("key.pem");
    run("openssl genpkey -algorithm EC -pkeyopt group:" + curve + " -out " + key +
        " && openssl ec -in " + key + " -pubout -conv_form compressed -out " +
        dir.file("public.pem") + " && openssl req -new -key " + key +
        " -subj /CN=compressed -out " + dir.file("request.pem") + " && openssl x509 -req -in " +
        dir.file("request.pem") + " -signkey " + key + " -force_pubkey " + dir.file("public.pem") +
        " -days 30 -outform DER -out " + dir.file("cert.der"));
    return read_bytes(dir.path() / "cert.der");
}

// Field by field against openssl, then key_type and key_bits against -text once more so
// the test names what it is about.
CertificateSummary check_generated(const Bytes& der, const std::string& type, int bits) {
    REQUIRE_FALSE(der.empty());
    check_against_openssl(der);
    const CertificateSummary summary = summarize_certificate(der, kNow);
    CHECK(summary.key_type == type);
    CHECK(summary.key_bits == bits);
    CHECK(summary.self_issued);
    CHECK(verify_self_signature(summary));
    return summary;
}

}  // namespace

TEST_CASE("EdDSA and RSA-PSS keys made by openssl at test time") {
    check_generated(generated_certificate("-algorithm ED25519"), "ed25519", 256);
    check_generated(generated_certificate("-algorithm ED448"), "ed448", 456);
    check_generated(generated_certificate("-algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048"),
                    "rsa_pss", 2048);
    // With parameters that restrict the key (hash and salt), checked by OpenSSL's decoder.
    check_generated(generated_certificate("-algorithm RSA-PSS -pkeyopt rsa_keygen_bits:1536 "
                                          "-pkeyopt rsa_pss_keygen_md:sha256"),
                    "rsa_pss", 1536);
    // A modulus whose top byte is not full.
    check_generated(generated_certificate("-algorithm RSA -pkeyopt rsa_keygen_bits:1027"), "rsa",
                    1027);
}

TEST_CASE("EC keys on other curves and in other encodings match openssl") {
    CHECK(check_generated(generated_certificate("-algorithm EC -pkeyopt group:P-521"), "ec", 521)
              .curve == "P-521");
    CHECK(
        check_generated(generated_certificate("-algorithm EC -pkeyopt group:secp256k1"), "ec", 256)
            .curve == "secp256k1");
    CHECK(check_generated(generated_certificate("-algorithm EC -pkeyopt group:brainpoolP384r1"),
                          "ec", 384)
              .curve == "brainpoolP384r1");
    CHECK(check_generated(compressed_point_certificate("P-384"), "ec", 384).curve == "P-384");
    // Explicit curve parameters instead of a curve's OID: OpenSSL finds that they are P-256's.
    CHECK(check_generated(generated_certificate(
                              "-algorithm EC -pkeyopt group:P-256 -pkeyopt encoding:explicit"),
                          "ec", 256)
              .curve == "P-256");
}

TEST_CASE("a DSA key is decoded by OpenSSL") {
    TempDir dir;
    run("openssl genpkey -genparam -algorithm DSA -pkeyopt pbits:1024 -pkeyopt qbits:160 -out " +
        dir.file("parameters.pem"));
    check_generated(generated_certificate("-paramfile " + dir.file("parameters.pem")), "dsa", 1024);
}

TEST_CASE("an EC point off its curve leaves the key size unknown, as in openssl") {
    Bytes der = generated_certificate("-algorithm EC -pkeyopt group:P-256");
    REQUIRE(summarize_certificate(der, kNow).key_bits == 256);
    // The point is the last 65 bytes of the SubjectPublicKeyInfo; its last byte is the
    // last of the y coordinate, and changing it moves the point off the curve.
    TempDir dir;
    std::ofstream(dir.path() / "cert.der", std::ios::binary)
        .write(reinterpret_cast<const char*>(der.data()), static_cast<std::streamsize>(der.size()));
    run("openssl x509 -inform DER -in " + dir.file("cert.der") +
        " -noout -pubkey | openssl pkey -pubin -outform DER -out " + dir.file("spki.der"));
    const Bytes spki = read_bytes(dir.path() / "spki.der");
    REQUIRE(spki.size() > 65);
    const auto at = std::search(der.begin(), der.end(), spki.begin(), spki.end());
    REQUIRE(at != der.end());
    at[static_cast<long>(spki.size()) - 1] ^= 0x01;

    TempDer damaged(der);
    // openssl cannot load the key either.
    CHECK(
        run("openssl x509 -inform DER -noout -pubkey -in " + shell_quoted(damaged.path())).empty());
    const CertificateSummary summary = summarize_certificate(der, kNow);
    CHECK(summary.key_type == "ec");
    CHECK_FALSE(summary.key_bits.has_value());
    CHECK(summary.curve.empty());
    CHECK_FALSE(verify_self_signature(summary));
}

TEST_CASE("validity at a fixed time") {
    const fs::path dir = kData / "05-parser-edge-cases";
    const auto later = summary_of(dir / "icam_card12_piv_auth_NOT_YET_VALID_until_2030.crt");
    CHECK(later.validity == Validity::not_yet_valid);
    CHECK(later.not_before_text == "2030-03-21T00:00:00Z");

    const auto expired = summary_of(dir / "icam_card13_piv_auth_EXPIRED_2014.crt");
    CHECK(expired.validity == Validity::expired);
    CHECK(expired.not_after_text == "2014-03-25T23:59:59Z");
    CHECK(expired.days_left < 0);

    // The same certificate during its four days of life: 2014-03-23T00:00:00Z.
    const auto young = summary_of(dir / "icam_card13_piv_auth_EXPIRED_2014.crt", 1395532800);
    CHECK(young.validity == Validity::valid);
    CHECK(young.days_left == 2);
    // One second after notAfter it is expired, by less than a day.
    const auto just = summary_of(dir / "icam_card13_piv_auth_EXPIRED_2014.crt", 1395791999 + 1);
    CHECK(just.validity == Validity::expired);
    CHECK(just.days_left == -1);

    const auto future = summary_of(dir / "icam_root_generalizedtime_NOT_YET_VALID_2051.crt");
    CHECK(future.validity == Validity::not_yet_valid);
    CHECK(future.not_before_text == "2051-01-01T00:00:00Z");
    CHECK(future.not_after_text == "2052-12-31T23:59:59Z");

    CHECK(to_string(Validity::valid) == "valid");
    CHECK(to_string(Validity::expired) == "expired");
    CHECK(to_string(Validity::not_yet_valid) == "not_yet_valid");
}

TEST_CASE("RFC 3339 formatting") {
    CHECK(format_rfc3339(0) == "1970-01-01T00:00:00Z");
    CHECK(format_rfc3339(951782400) == "2000-02-29T00:00:00Z");
    CHECK(format_rfc3339(2556143999) == "2050-12-31T23:59:59Z");
    CHECK(format_rfc3339(-1) == "1969-12-31T23:59:59Z");
}

namespace {

Bytes sample_der() {
    return decode_certificates(read_bytes(kData / "05-parser-edge-cases/icam_root_rsa4096.crt"))
        .at(0);
}

void check_invalid(const Bytes& bytes) {
    try {
        summarize_certificate(bytes, kNow);
        FAIL("accepted invalid input of " << bytes.size() << " bytes");
    } catch (const Error& error) {
        CHECK(error.is(CoreCode::certificate_invalid));
        CHECK(error.operation() == "parse certificate");
        CHECK_FALSE(error.reason().empty());
    }
}

}  // namespace

TEST_CASE("truncated certificates are refused") {
    const Bytes der = sample_der();
    for (std::size_t length :
         {std::size_t{0}, std::size_t{1}, std::size_t{4}, der.size() / 2, der.size() - 1}) {
        INFO("length " << length);
        check_invalid(Bytes(der.begin(), der.begin() + static_cast<long>(length)));
    }
}

TEST_CASE("trailing bytes after the certificate are refused") {
    Bytes der = sample_der();
    der.push_back(0x00);
    check_invalid(der);
    try {
        summarize_certificate(der, kNow);
    } catch (const Error& error) {
        CHECK(error.reason() == "extra bytes after the certificate");
    }
}

TEST_CASE("random bytes are refused, never crash") {
    std::srand(7);
    for (int round = 0; round < 200; ++round) {
        Bytes bytes(static_cast<std::size_t>(std::rand() % 3000));
        for (auto& byte : bytes) {
            byte = static_cast<std::uint8_t>(std::rand());
        }
        if (round % 2 == 0 && bytes.size() > 4) {
            bytes[0] = 0x30;  // a SEQUENCE, to get past the first check
            bytes[1] = 0x82;
        }
        check_invalid(bytes);
    }
}

TEST_CASE("damaged certificates are refused, never crash") {
    const Bytes der = sample_der();
    std::srand(11);
    int refused = 0;
    for (int round = 0; round < 300; ++round) {
        Bytes damaged = der;
        damaged[static_cast<std::size_t>(std::rand()) % damaged.size()] ^=
            static_cast<std::uint8_t>(1 + std::rand() % 255);
        try {
            summarize_certificate(damaged, kNow);
        } catch (const Error& error) {
            CHECK(error.is(CoreCode::certificate_invalid));
            ++refused;
        }
    }
    CHECK(refused > 0);  // a flip inside the signature or key still parses
}

TEST_CASE("oversized input is refused before parsing") {
    Bytes big(kMaxCertificateSize + 1, 0x30);
    check_invalid(big);
}

TEST_CASE("decode_certificates reads PEM with text around it, CRLF and DER") {
    const fs::path edge = kData / "05-parser-edge-cases";
    CHECK(decode_certificates(read_bytes(edge / "icam_card13_piv_auth_EXPIRED_2014.crt")).size() ==
          1);
    CHECK(decode_certificates(read_bytes(edge / "unknown_critical_extension_chain.pem")).size() ==
          3);
    const auto der = read_bytes(kData / "01-ca-certs/federal/ORC_SSP_4_EXPIRED.der.cer");
    const auto decoded = decode_certificates(der);
    REQUIRE(decoded.size() == 1);
    CHECK(decoded[0] == der);
}

TEST_CASE("decode_certificates refuses what holds no certificate") {
    auto refuses = [](const std::string& text) {
        try {
            decode_certificates(Bytes(text.begin(), text.end()));
            return false;
        } catch (const Error& error) {
            return error.is(CoreCode::certificate_invalid);
        }
    };
    CHECK(refuses(""));
    CHECK(refuses("hello"));
    CHECK(refuses("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"));
    CHECK(refuses("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"));
    CHECK(refuses("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n"));
    Bytes der = sample_der();
    der.push_back(0);
    CHECK_THROWS_AS(decode_certificates(der), Error);
}
