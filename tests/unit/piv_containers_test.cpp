// Certificate containers: every container in tests/data/03-piv-cac-objects/
// constructed-cert-containers, plain and gzip-compressed, must give the DER that openssl
// reads from the ICAM certificate its annotation names. The limit on inflating is checked
// with deflate streams whose inflated size is known by construction.
#include <doctest/doctest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/piv/application.hpp"
#include "core/piv/containers.hpp"
#include "core/util/error.hpp"
#include "test_support.hpp"

using namespace cac;
namespace fs = std::filesystem;

namespace {

const fs::path kData = CACTOOL_TESTDATA;
const fs::path kContainers = kData / "03-piv-cac-objects/constructed-cert-containers";

Bytes read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

// The certificate a container was built from: the annotation's line "#   02-piv-...".
fs::path source_certificate(const fs::path& bin) {
    fs::path txt = bin;
    txt.replace_extension(".txt");
    std::ifstream in(txt);
    std::string line;
    while (std::getline(in, line)) {
        std::size_t at = line.find("02-piv-test-certs/");
        if (line.rfind("#", 0) == 0 && at != std::string::npos)
            return kData / line.substr(at);
    }
    return {};
}

// The DER of a certificate file (PEM or DER), as openssl writes it.
std::string openssl_der_hex(const fs::path& cert) {
    std::string q = test::shell_quoted(cert);
    return test::run_command("{ openssl x509 -in " + q +
                             " -outform DER 2>/dev/null || openssl x509 "
                             "-inform DER -in " +
                             q + " -outform DER; } | od -An -v -tx1 | tr -d ' \\n'");
}

// A container around `certificate` with CertInfo `info` and an FE.
Bytes container(const Bytes& certificate, std::uint8_t info) {
    Bytes out{0x70};
    std::size_t n = certificate.size();
    if (n < 0x80) {
        out.push_back(std::uint8_t(n));
    } else if (n < 0x100) {
        out.insert(out.end(), {0x81, std::uint8_t(n)});
    } else if (n < 0x10000) {
        out.insert(out.end(), {0x82, std::uint8_t(n >> 8), std::uint8_t(n)});
    } else {
        out.insert(out.end(), {0x83, std::uint8_t(n >> 16), std::uint8_t(n >> 8), std::uint8_t(n)});
    }
    out.insert(out.end(), certificate.begin(), certificate.end());
    out.insert(out.end(), {0x71, 0x01, info, 0xFE, 0x00});
    return out;
}

// A gzip member whose deflate data is the same self-contained block `repeats` times,
// each block `block_bytes` zeros: it inflates to repeats * block_bytes bytes while its
// own size grows by about a thousandth of that. The trailer is never reached.
Bytes gzip_of_zeros(std::size_t block_bytes, std::size_t repeats) {
    z_stream s{};
    REQUIRE(deflateInit2(&s, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) == Z_OK);
    Bytes zeros(block_bytes, 0);
    Bytes block(deflateBound(&s, uLong(block_bytes)) + 64);
    s.next_in = zeros.data();
    s.avail_in = uInt(zeros.size());
    s.next_out = block.data();
    s.avail_out = uInt(block.size());
    REQUIRE(deflate(&s, Z_FULL_FLUSH) == Z_OK);  // byte-aligned, no history kept
    block.resize(block.size() - s.avail_out);
    deflateEnd(&s);
    Bytes out{0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03};  // RFC 1952
    for (std::size_t i = 0; i < repeats; ++i)
        out.insert(out.end(), block.begin(), block.end());
    return out;
}

// A complete gzip of `data` by zlib itself.
Bytes gzip(const Bytes& data) {
    z_stream s{};
    REQUIRE(deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    Bytes out(deflateBound(&s, uLong(data.size())) + 32);
    s.next_in = const_cast<Bytef*>(data.data());
    s.avail_in = uInt(data.size());
    s.next_out = out.data();
    s.avail_out = uInt(out.size());
    REQUIRE(deflate(&s, Z_FINISH) == Z_STREAM_END);
    out.resize(out.size() - s.avail_out);
    deflateEnd(&s);
    return out;
}

}  // namespace

TEST_CASE("every container of the test data gives the certificate openssl reads") {
    int seen = 0;
    for (const fs::directory_entry& entry : fs::directory_iterator(kContainers)) {
        if (entry.path().extension() != ".bin")
            continue;
        CAPTURE(entry.path().filename().string());
        fs::path cert = source_certificate(entry.path());
        REQUIRE_FALSE(cert.empty());
        std::string expected = openssl_der_hex(cert);
        REQUIRE(expected.size() > 200);
        bool gzipped = entry.path().filename().string().find("_gzip") != std::string::npos;

        piv::CertificateContainer c = piv::parse_certificate_container(read_bytes(entry.path()));
        CHECK(to_hex(c.certificate) == expected);
        CHECK(c.compressed == gzipped);
        CHECK(c.cert_info == (gzipped ? 0x01 : 0x00));
        CHECK(c.warnings.empty());
        ++seen;
    }
    CHECK(seen == 12);  // six certificates, each plain and compressed
}

TEST_CASE("the value of the 53 wrapper reads as the whole object does") {
    Bytes object = read_bytes(kContainers / "card46_dig_sig_9C_5FC10A_gzip.bin");
    REQUIRE(object.size() > 4);
    Bytes value(object.begin() + 4, object.end());  // 53 82 xx xx
    CHECK(piv::parse_certificate_container(value).certificate ==
          piv::parse_certificate_container(object).certificate);
}

TEST_CASE("CertInfo 80, as early cards wrote it, means compressed") {
    Bytes der = {0x30, 0x03, 0x02, 0x01, 0x05};
    piv::CertificateContainer c = piv::parse_certificate_container(container(gzip(der), 0x80));
    CHECK(c.compressed);
    CHECK(c.certificate == der);
    CHECK(c.warnings.size() == 1);
}

TEST_CASE("a container without FE, or without CertInfo, is read with a warning") {
    Bytes der = {0x30, 0x03, 0x02, 0x01, 0x05};
    Bytes no_fe = {0x70, 0x05, 0x30, 0x03, 0x02, 0x01, 0x05, 0x71, 0x01, 0x00};
    piv::CertificateContainer c = piv::parse_certificate_container(no_fe);
    CHECK(c.certificate == der);
    REQUIRE(c.warnings.size() == 1);
    CHECK(c.warnings[0].find("FE") != std::string::npos);
}

TEST_CASE("containers that cannot be read are parse errors") {
    auto refused = [](const Bytes& object) {
        try {
            (void)piv::parse_certificate_container(object);
        } catch (const Error& e) {
            return e.is(CoreCode::parse_error);
        }
        return false;
    };
    CHECK(refused({}));
    CHECK(refused({0x71, 0x01, 0x00, 0xFE, 0x00}));                    // no 70
    CHECK(refused({0x70, 0x00, 0x71, 0x01, 0x00, 0xFE, 0x00}));        // an empty 70
    CHECK(refused({0x53, 0x09, 0x70, 0x05, 0x30}));                    // 53 cut short
    CHECK(refused({0x70, 0x03, 0x01, 0x02, 0x03, 0x71, 0x01, 0x01}));  // not gzip
    CHECK(refused({0x70, 0x05, 0x30, 0x03, 0x02, 0x01, 0x05, 0x71, 0x02, 0x00, 0x00}));
    Bytes whole = gzip({0x30, 0x03, 0x02, 0x01, 0x05});
    Bytes cut(whole.begin(), whole.end() - 12);
    CHECK(refused(container(cut, 0x01)));  // the compressed data cut short
}

TEST_CASE("zip bomb: a container inflating past the limit is refused early") {
    // 48 blocks of 1 MiB of zeros: 48 MiB once inflated, small enough to come from a card
    // in one object. The limit stops it after 64 KiB of output.
    Bytes bomb = gzip_of_zeros(1 << 20, 48);
    CHECK(bomb.size() < piv::kMaxObjectBytes - 16);
    try {
        (void)piv::parse_certificate_container(container(bomb, 0x01));
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.is(CoreCode::parse_error));
        CAPTURE(e.reason());
        CHECK(e.reason().find(std::to_string(piv::kMaxCertificateBytes)) != std::string::npos);
    }
}

TEST_CASE("a container larger than any object a card may send is refused before parsing") {
    Bytes huge(piv::kMaxObjectBytes + 1, 0x00);
    CHECK_THROWS_AS((void)piv::parse_certificate_container(huge), Error);
}

TEST_CASE("the limit is exact: the limit itself passes, one byte more does not") {
    Bytes data(1000, 0x30);
    Bytes packed = gzip(data);
    CHECK(piv::inflate_bounded(packed, 1000) == data);
    CHECK_THROWS_AS((void)piv::inflate_bounded(packed, 999), Error);
}
