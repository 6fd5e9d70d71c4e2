#include <doctest/doctest.h>

#include "test_support.hpp"

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/x509/bundle.hpp"
#include "core/x509/certificate.hpp"
#include "core/x509/export.hpp"

using namespace cac;
namespace fs = std::filesystem;

namespace {

std::string run(const std::string& command) {
    return test::run_command(command);
}

const fs::path kRoot =
    fs::path(CACTOOL_TESTDATA) / "02-piv-test-certs/icam-test-cards/pki/ICAM_Test_Card_Root_CA.crt";

Bytes read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot open " << path);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("PEM export is what openssl writes for the certificate") {
    const Bytes der = decode_certificates(read_bytes(kRoot)).at(0);
    const std::string pem = to_pem(der);
    // openssl re-encodes the file's certificate the canonical way: 64-column base64.
    CHECK(pem == run("openssl x509 -in '" + kRoot.string() + "' 2>/dev/null"));
    CHECK(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    CHECK(pem.ends_with("-----END CERTIFICATE-----\n"));

    const Bytes as_pem = encode_certificate(der, ExportFormat::pem);
    CHECK(std::string(as_pem.begin(), as_pem.end()) == pem);
    CHECK(encode_certificate(der, ExportFormat::der) == der);
    // The PEM reads back to the same DER.
    CHECK(decode_certificates(as_pem).at(0) == der);
}

TEST_CASE("export file names keep safe characters of the label and add the ID") {
    const Bytes id = {0x01};
    CHECK(export_file_stem("Certificate for PIV Authentication", id) ==
          "Certificate_for_PIV_Authentication_01");
    CHECK(export_file_stem("X.509 Certificate for Digital Signature", Bytes{0x02}) ==
          "X.509_Certificate_for_Digital_Signature_02");
    CHECK(export_file_stem("", Bytes{0xab, 0xcd}) == "abcd");
    CHECK(export_file_stem("", {}) == "certificate");
    CHECK(export_file_stem("plain", {}) == "plain");
}

TEST_CASE("export file names cannot escape the directory or hide") {
    for (const char* label : {"../../etc/passwd", "/etc/shadow", "..", ".", ".hidden", "a/b\\c",
                              "-rf", "\x01\x02", "caf\xc3\xa9", "  spaced  "}) {
        const std::string stem = export_file_stem(label, {});
        INFO("label " << label << " gave " << stem);
        CHECK_FALSE(stem.empty());
        CHECK(stem.find('/') == std::string::npos);
        CHECK(stem.find('\\') == std::string::npos);
        CHECK(stem.front() != '.');
        CHECK(stem.front() != '-');
        CHECK(stem != "..");
        for (char c : stem) {
            CHECK(static_cast<unsigned char>(c) > 0x20);
            CHECK(static_cast<unsigned char>(c) < 0x7f);
        }
    }
    CHECK(export_file_stem("../../etc/passwd", {}) == "etc_passwd");
    CHECK(export_file_stem("..", {}) == "certificate");
    CHECK(export_file_stem("caf\xc3\xa9 cr\xc3\xa8me", {}) == "caf_cr_me");
}

TEST_CASE("export file names are bounded") {
    const std::string long_label(1000, 'x');
    const Bytes long_id(100, 0xee);
    const std::string stem = export_file_stem(long_label, long_id);
    CHECK(stem.size() == kMaxLabelStem + 1 + kMaxIdHexDigits);
    ExportNames names(ExportFormat::pem);
    CHECK(names.next(long_label, long_id).size() < 255);
}

TEST_CASE("colliding export names get numbered") {
    ExportNames names(ExportFormat::der);
    const Bytes id = {0x01};
    CHECK(names.next("Cert", id) == "Cert_01.der");
    CHECK(names.next("Cert", id) == "Cert_01-2.der");
    CHECK(names.next("cert", id) == "cert_01-3.der");  // same name on a case-blind disk
    CHECK(names.next("Cert?", id) == "Cert_01-4.der");
    CHECK(names.next("Cert", Bytes{0x02}) == "Cert_02.der");
    ExportNames pem(ExportFormat::pem);
    CHECK(pem.next("", {}) == "certificate.pem");
    CHECK(pem.next("", {}) == "certificate-2.pem");
    CHECK(file_extension(ExportFormat::pem) == ".pem");
    CHECK(file_extension(ExportFormat::der) == ".der");
}
