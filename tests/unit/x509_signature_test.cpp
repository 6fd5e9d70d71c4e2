// Signature checks against keys and signatures made by the openssl command, and the
// encodings checked against the bytes their standards give.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "core/util/error.hpp"
#include "core/x509/signature.hpp"
#include "test_support.hpp"

using namespace cac;
using namespace cac::test;

namespace {

Bytes file_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

// A key and a self-signed certificate made by openssl, and its signature of a message.
struct OpensslSigner {
    TempFolder folder;
    Bytes cert_der;
    Bytes message{'c', 'a', 'c', 't', 'o', 'o', 'l'};

    explicit OpensslSigner(const std::string& newkey) {
        std::string dir = shell_quoted(folder.path());
        run_command("cd " + dir + " && openssl req -x509 -newkey " + newkey +
                    " -nodes -keyout key.pem -subj /CN=signer -days 2 -outform DER -out "
                    "cert.der 2>/dev/null");
        cert_der = file_bytes(folder.path() / "cert.der");
        std::ofstream(folder.path() / "message", std::ios::binary)
            .write(reinterpret_cast<const char*>(message.data()), std::streamsize(message.size()));
    }

    Bytes sign() const {
        run_command("cd " + shell_quoted(folder.path()) +
                    " && openssl dgst -sha256 -sign key.pem -out sig message 2>/dev/null");
        return file_bytes(folder.path() / "sig");
    }
};

// r||s of a DER ECDSA-Sig-Value of a P-256 key (short-form lengths only), each left-padded
// to 32 bytes, as CKM_ECDSA returns them: the inverse of ecdsa_raw_to_der, by hand.
Bytes raw_of_der(const Bytes& der) {
    Bytes raw;
    std::size_t at = 2;
    for (int i = 0; i < 2; ++i) {
        REQUIRE(der.at(at) == 0x02);
        std::size_t len = der.at(at + 1);
        Bytes n(der.begin() + long(at + 2), der.begin() + long(at + 2 + len));
        while (n.size() > 32 && n.front() == 0)
            n.erase(n.begin());
        raw.insert(raw.end(), 32 - n.size(), 0);
        raw.insert(raw.end(), n.begin(), n.end());
        at += 2 + len;
    }
    return raw;
}

}  // namespace

TEST_CASE("the SHA-256 DigestInfo is the prefix of RFC 8017 9.2 note 1 and the hash") {
    // FIPS 180-2, appendix B.1: SHA-256("abc").
    Bytes digest = sha256_digest(Bytes{'a', 'b', 'c'});
    CHECK(to_hex(digest) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(to_hex(sha256_digest_info(digest)) ==
          "3031300d060960864801650304020105000420" + to_hex(digest));
}

TEST_CASE("raw r||s becomes a DER SEQUENCE of two minimal INTEGERs") {
    // r = 0x007f loses its leading zero; s = 0x8001 gains one to stay positive.
    CHECK(ecdsa_raw_to_der(hex_bytes("00 7f 80 01")) == hex_bytes("30 08 02 01 7f 02 03 00 80 01"));
    CHECK_FALSE(ecdsa_raw_to_der(hex_bytes("01 02 03")));
    CHECK_FALSE(ecdsa_raw_to_der(Bytes{}));
}

TEST_CASE("random bytes differ from one call to the next") {
    Bytes a = random_bytes(32);
    CHECK(a.size() == 32);
    CHECK(a != random_bytes(32));
}

TEST_CASE("an RSA signature made by openssl verifies with its certificate") {
    OpensslSigner signer("rsa:2048");
    REQUIRE_FALSE(signer.cert_der.empty());
    Bytes signature = signer.sign();
    REQUIRE(signature.size() == 256);
    CHECK(verify_sha256_signature(signer.cert_der, signer.message, signature).check ==
          SignatureCheck::verified);
    Bytes other = signer.message;
    other.back() ^= 1;
    CHECK(verify_sha256_signature(signer.cert_der, other, signature).check ==
          SignatureCheck::mismatch);
}

TEST_CASE("an ECDSA signature given as r||s verifies once it is DER") {
    OpensslSigner signer("ec -pkeyopt ec_paramgen_curve:P-256");
    REQUIRE_FALSE(signer.cert_der.empty());
    Bytes der = signer.sign();
    CHECK(verify_sha256_signature(signer.cert_der, signer.message, der).check ==
          SignatureCheck::verified);
    Bytes raw = raw_of_der(der);
    REQUIRE(raw.size() == 64);
    auto again = ecdsa_raw_to_der(raw);
    REQUIRE(again);
    CHECK(*again == der);
    CHECK(verify_sha256_signature(signer.cert_der, signer.message, raw).check ==
          SignatureCheck::mismatch);
}

TEST_CASE("another key's signature does not verify, whatever its kind") {
    OpensslSigner ec("ec -pkeyopt ec_paramgen_curve:P-256");
    OpensslSigner other_ec("ec -pkeyopt ec_paramgen_curve:P-256");
    OpensslSigner rsa("rsa:2048");
    other_ec.message = ec.message;
    CHECK(verify_sha256_signature(ec.cert_der, ec.message, other_ec.sign()).check ==
          SignatureCheck::mismatch);
    CHECK(verify_sha256_signature(ec.cert_der, ec.message, rsa.sign()).check ==
          SignatureCheck::mismatch);
    CHECK(verify_sha256_signature(rsa.cert_der, rsa.message, ec.sign()).check ==
          SignatureCheck::mismatch);
}

TEST_CASE("a certificate that does not parse cannot verify anything") {
    CHECK_THROWS_AS(
        (void)verify_sha256_signature(Bytes{0x30, 0x03, 0x02, 0x01, 0x01}, Bytes{1}, Bytes{2}),
        Error);
}
