// Unit tests of the profiles: each fixture in tests/testbed/profiles does what its name says
// when driven through the card, and a wrong profile names its file, key and problem.
#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <stdexcept>

#include "objects.hpp"
#include "profile.hpp"
#include "test_support.hpp"

using namespace cardsim;
using namespace cardsim::test;

namespace {

Card fresh(const std::string& profile) {
    Card card(fixture(profile).profile);
    card.power_on();
    select_piv(card);
    return card;
}

Bytes inflate_any(const Bytes& in) {
    z_stream zs{};
    REQUIRE(inflateInit2(&zs, 32 + 15) == Z_OK);  // zlib or gzip, detected from the header
    Bytes out(in.size() * 20 + 1024);
    zs.next_in = const_cast<Bytef*>(in.data());
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    inflateEnd(&zs);
    CHECK(rc == Z_STREAM_END);
    return out;
}

std::string load_error(const std::string& json) {
    TempDir dir;
    auto file = dir.path / "bad.json";
    std::ofstream(file) << json;
    try {
        load_profile(file, dir.path / "card");
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

// An X.509 time as seconds since 1970, read field by field rather than compared by
// OpenSSL, so the check does not rest on the library that wrote the time.
std::time_t seconds_of(const ASN1_TIME* time) {
    std::tm fields{};
    REQUIRE(ASN1_TIME_to_tm(time, &fields) == 1);
    return timegm(&fields);
}

// Whether a is b give or take ten minutes (the time the test takes to generate keys).
bool about(std::time_t a, std::time_t b) {
    return a > b - 600 && a < b + 600;
}

}  // namespace

TEST_SUITE("profile") {
    TEST_CASE("The default card is made quickly and exports card.json and its PEM files") {
        TempDir dir;
        auto start = std::chrono::steady_clock::now();
        load_profile({}, dir.path);
        auto elapsed = std::chrono::steady_clock::now() - start;
        CHECK(elapsed < std::chrono::seconds(4));  // 2 s without sanitizers
        for (const char* f :
             {"card.json", "ca.pem", "9a.pem", "9c.pem", "9d.pem", "9e.pem", "9a.key.pem"}) {
            CHECK(std::filesystem::exists(dir.path / f));
        }
        std::ifstream in(dir.path / "card.json");
        std::string text((std::istreambuf_iterator<char>(in)), {});
        Bytes der = der_of(read_pem_certificate(dir.path / "9a.pem").get());
        Bytes fp = digest(EVP_sha256(), der);
        std::string fp_hex;
        for (auto b : fp) {
            static const char* d = "0123456789ABCDEF";
            fp_hex += d[b >> 4];
            fp_hex += d[b & 15];
        }
        CHECK(text.find("\"sha256\": \"" + fp_hex + "\"") != std::string::npos);
        CHECK(text.find("\"algorithm\": \"ecc384\"") != std::string::npos);
    }

    TEST_CASE("Loading the same profile into the same folder keeps its keys and certificates") {
        TempDir dir;
        auto file = profiles_dir() / "compressed.json";
        load_profile(file, dir.path);
        Bytes first = der_of(read_pem_certificate(dir.path / "9d.pem").get());
        load_profile(file, dir.path);
        CHECK(der_of(read_pem_certificate(dir.path / "9d.pem").get()) == first);
        load_profile({}, dir.path);  // another profile: new keys
        CHECK(der_of(read_pem_certificate(dir.path / "9d.pem").get()) != first);
    }

    TEST_CASE("compressed.json stores gzip certificates that inflate to the PEM file's DER") {
        Card card = fresh("compressed");
        Bytes r = get_data(card, hex("5F C1 0A"));
        REQUIRE(sw(r) == 0x9000);
        Bytes object = body(r);
        // 53 82 LL LL 70 82 LL LL <gzip> 71 01 01 FE 00
        REQUIRE(object.size() > 16);
        REQUIRE(object[4] == 0x70);
        std::size_t len = 0;
        std::size_t pos = 5;
        if (object[pos] == 0x82) {
            len = static_cast<std::size_t>(object[pos + 1] << 8 | object[pos + 2]);
            pos += 3;
        } else {
            REQUIRE(object[pos] == 0x81);
            len = object[pos + 1];
            pos += 2;
        }
        Bytes gz(object.begin() + static_cast<long>(pos),
                 object.begin() + static_cast<long>(pos + len));
        CHECK(gz[0] == 0x1F);  // the gzip magic
        CHECK(gz[1] == 0x8B);
        CHECK(Bytes(object.end() - 5, object.end()) == hex("71 01 01 FE 00"));
        auto pem = read_pem_certificate(fixture("compressed").card_dir / "9c.pem");
        CHECK(inflate_any(gz) == der_of(pem.get()));
    }

    TEST_CASE("t0.json: 61xx for commands with data, 6Cxx for a wrong Le, no extended APDUs") {
        Card card(fixture("t0").profile);
        card.power_on();
        CHECK(fixture("t0").profile->atr[1] == 0x0C);  // T0 byte: no TD1, so T=0 only
        Bytes r = card.transmit(apdu(0x00, 0xA4, 0x04, 0x00, hex("A0 00 00 03 08")));
        REQUIRE(r.size() == 2);
        REQUIRE(r[0] == 0x61);
        std::uint8_t apt_len = r[1];
        CHECK(sw(card.transmit(apdu(0x00, 0xC0, 0x00, 0x00, {}, apt_len + 4))) == 0x6C00 + apt_len);
        Bytes apt = card.transmit(apdu(0x00, 0xC0, 0x00, 0x00, {}, apt_len));
        CHECK(sw(apt) == 0x9000);
        CHECK(apt[0] == 0x61);
        r = card.transmit(apdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C 01 7E")));
        CHECK(r == hex("61 14"));
        CHECK(card.transmit(apdu(0x00, 0xC0, 0x00, 0x00, {}, 0x14)) ==
              hex("7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 10 90 00"));
        CHECK(card.transmit(extended_apdu(0xCB, 0x3F, 0xFF, hex("5C 01 7E"), 0)) == hex("67 00"));
        Bytes cert = get_data(card, hex("5F C1 05"));
        CHECK(sw(cert) == 0x9000);
        Bytes der = der_of(read_pem_certificate(fixture("t0").card_dir / "9a.pem").get());
        Bytes object = body(cert);
        CHECK(std::search(object.begin(), object.end(), der.begin(), der.end()) != object.end());
    }

    TEST_CASE("legacy-retries.json counts with 630x and keeps answering the count once verified") {
        Card card = fresh("legacy-retries");
        CHECK(verify(card, "999999") == 0x6302);
        CHECK(verify(card, "123456") == 0x9000);
        CHECK(sw(card.transmit(apdu(0x00, 0x20, 0x00, 0x80))) == 0x6303);
    }

    TEST_CASE("global-pin.json: the Global PIN verifies and discovery says it is primary") {
        Card card = fresh("global-pin");
        CHECK(get_data(card, hex("7E")) ==
              hex("7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 60 20 90 00"));
        CHECK(sw(card.transmit(apdu(0x00, 0x20, 0x00, 0x00))) == 0x63C3);
        CHECK(verify(card, "123456", 0x00) == 0x9000);
        CHECK(sw(get_data(card, hex("5F C1 09"))) == 0x9000);
    }

    TEST_CASE("expired.json: the 9A certificate's validity ended in 2021") {
        auto cert = read_pem_certificate(fixture("expired").card_dir / "9a.pem");
        CHECK(X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0);
        ASN1_TIME* end = ASN1_TIME_new();
        ASN1_TIME_set_string(end, "20210101000000Z");
        CHECK(ASN1_TIME_compare(X509_get0_notAfter(cert.get()), end) == 0);
        ASN1_TIME_free(end);
        auto other = read_pem_certificate(fixture("expired").card_dir / "9c.pem");
        CHECK(X509_cmp_current_time(X509_get0_notAfter(other.get())) > 0);
    }

    TEST_CASE("valid_days: negative for a certificate that expired that many days ago") {
        TempDir dir;
        auto file = dir.path / "days.json";
        std::ofstream(file) << R"({"slots": {"9a": {"algorithm": "ecc256", "valid_days": -30},
                                             "9c": {"valid_days": 36500},
                                             "9d": null, "9e": null}})";
        load_profile(file, dir.path / "card");
        const std::time_t now = std::time(nullptr);
        const std::time_t day = 86400;
        auto expired = read_pem_certificate(dir.path / "card" / "9a.pem");
        CHECK(about(seconds_of(X509_get0_notAfter(expired.get())), now - 30 * day));
        CHECK(about(seconds_of(X509_get0_notBefore(expired.get())), now - (30 + 365) * day));
        // A hundred years from yesterday: past 2038 and still a valid time.
        auto century = read_pem_certificate(dir.path / "card" / "9c.pem");
        CHECK(about(seconds_of(X509_get0_notAfter(century.get())), now + 36499 * day));
    }

    TEST_CASE("valid_days out of range or not a whole number is refused") {
        for (const char* days : {"0", "36501", "-36501", "3000000", "4294967297", "1.5", "\"9\""}) {
            CAPTURE(days);
            CHECK(load_error(std::string(R"({"slots": {"9a": {"valid_days": )") + days + "}}}")
                      .find("slots.9a.valid_days") != std::string::npos);
        }
        CHECK(load_error(
                  R"({"slots": {"9a": {"valid_days": -3, "not_after": "2030-01-01T00:00:00Z"}}})")
                  .find("slots.9a.valid_days: a negative value sets both ends") !=
              std::string::npos);
    }

    TEST_CASE("pem-files.json: 9C holds the checked-in certificate and signs with its key") {
        Card card = fresh("pem-files");
        auto pem = read_pem_certificate(profiles_dir() / "pem" / "9c.pem");
        Bytes r = get_data(card, hex("5F C1 0A"));
        REQUIRE(sw(r) == 0x9000);
        Bytes der = der_of(pem.get());
        Bytes object = body(r);
        CHECK(std::search(object.begin(), object.end(), der.begin(), der.end()) != object.end());
    }

    TEST_CASE("A wrong profile names the file, the key and the problem") {
        CHECK(load_error("{\"pin\": \"12\"}").find("bad.json: pin: a PIV PIN is 6 to 8 digits") !=
              std::string::npos);
        CHECK(load_error("{\"slots\": {\"9a\": {\"algorithm\": \"rsa1024\"}}}")
                  .find("slots.9a.algorithm") != std::string::npos);
        CHECK(load_error("{\"transport\": {\"t1\": true}}").find("transport.t1: unknown key") !=
              std::string::npos);
        CHECK(load_error("{\"retry_encoding\": \"63cx\"}").find("retry_encoding") !=
              std::string::npos);
        CHECK(load_error("{\"slots\": {\"9a\": {\"not_after\": \"tomorrow\"}}}")
                  .find("slots.9a.not_after") != std::string::npos);
        CHECK(load_error("{\"objects\": {\"chuid\": \"XYZ\"}}").find("objects.chuid") !=
              std::string::npos);
        CHECK(load_error("{\"objects\": {\"security_object\": \"generate\"}}")
                  .find("objects.security_object: cannot be generated") != std::string::npos);
        CHECK(load_error("{\"pin\": ").find("is not valid JSON") != std::string::npos);
    }

    TEST_CASE("Objects given in hex are the content of tag 53") {
        TempDir dir;
        auto file = dir.path / "objects.json";
        std::ofstream(file)
            << R"({"objects": {"security_object": "BA 01 02 FE 00", "chuid": "absent"}})";
        auto loaded = load_profile(file, dir.path / "card");
        Card card(loaded.profile);
        select_piv(card);
        CHECK(get_data(card, hex("5F C1 06")) == hex("53 05 BA 01 02 FE 00 90 00"));
        CHECK(sw(get_data(card, hex("5F C1 02"))) == 0x6A82);
    }

    TEST_CASE("FASC-N encoding matches a published all-zero placeholder") {
        // From a public OpenSC discussion: agency 0000, system 0000, credential 000000, CS 0,
        // ICI 1, PI 0000000000, OC 3, OI 0000, POA 1.
        Fascn f{"0000", "0000", "000000", "0", "1", "0000000000", "3", "0000", "1"};
        CHECK(encode_fascn(f) ==
              hex("D0 42 10 D8 21 08 6C 10 84 21 0D 83 68 58 21 08 42 10 84 21 C8 42 10 C3 EB"));
    }

}  // TEST_SUITE
