// Unit tests of the virtual PIV card, driven through Card::transmit with APDUs written from
// the byte layouts of NIST SP 800-73-4 part 2 and ISO/IEC 7816-4. Signatures are checked
// with the exported certificate's public key through OpenSSL, never by the card's own code.
#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <random>

#include "test_support.hpp"

using namespace cardsim;
using namespace cardsim::test;

namespace {

Card fresh(const std::string& profile = "") {
    Card card(fixture(profile).profile);
    card.power_on();
    return card;
}

std::shared_ptr<X509> slot_cert(const std::string& profile, const std::string& slot) {
    return read_pem_certificate(fixture(profile).card_dir / (slot + ".pem"));
}

// The certificate container's tag 70 value, CertInfo, and that FE closes it.
struct Container {
    Bytes cert;
    std::uint8_t info = 0xFF;
};

Container parse_container(const Bytes& object) {
    // 53 L { 70 L cert, 71 01 info, FE 00 } with lengths in one to three bytes.
    auto read_len = [&](std::size_t& pos) {
        std::size_t len = object.at(pos++);
        if (len & 0x80) {
            std::size_t n = len & 0x7F;
            len = 0;
            while (n--) {
                len = len << 8 | object.at(pos++);
            }
        }
        return len;
    };
    std::size_t pos = 0;
    REQUIRE(object.at(pos++) == 0x53);
    std::size_t total = read_len(pos);
    REQUIRE(pos + total == object.size());
    REQUIRE(object.at(pos++) == 0x70);
    std::size_t cert_len = read_len(pos);
    Container c;
    c.cert.assign(object.begin() + static_cast<long>(pos),
                  object.begin() + static_cast<long>(pos + cert_len));
    pos += cert_len;
    REQUIRE(Bytes(object.begin() + static_cast<long>(pos), object.end()).size() == 5);
    CHECK(object.at(pos) == 0x71);
    CHECK(object.at(pos + 1) == 0x01);
    c.info = object.at(pos + 2);
    CHECK(object.at(pos + 3) == 0xFE);
    CHECK(object.at(pos + 4) == 0x00);
    return c;
}

// GENERAL AUTHENTICATE's template: 7C { 82 00, 81 challenge }, lengths in BER.
Bytes auth_template(std::uint8_t tag, const Bytes& input) {
    auto length = [](std::size_t n) {
        if (n < 0x80) {
            return Bytes{static_cast<std::uint8_t>(n)};
        }
        if (n < 0x100) {
            return Bytes{0x81, static_cast<std::uint8_t>(n)};
        }
        return Bytes{0x82, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
    };
    Bytes inner = {0x82, 0x00, tag};
    Bytes l = length(input.size());
    inner.insert(inner.end(), l.begin(), l.end());
    inner.insert(inner.end(), input.begin(), input.end());
    Bytes out = {0x7C};
    Bytes lo = length(inner.size());
    out.insert(out.end(), lo.begin(), lo.end());
    out.insert(out.end(), inner.begin(), inner.end());
    return out;
}

// The value of 82 inside the 7C answer (the data of a GENERAL AUTHENTICATE response).
Bytes auth_result(const Bytes& data) {
    auto skip_header = [&](std::size_t pos, std::uint8_t tag, std::size_t& len) {
        REQUIRE(data.at(pos) == tag);
        ++pos;
        len = data.at(pos++);
        if (len & 0x80) {
            std::size_t n = len & 0x7F;
            len = 0;
            while (n--) {
                len = len << 8 | data.at(pos++);
            }
        }
        return pos;
    };
    std::size_t len = 0;
    std::size_t pos = skip_header(0, 0x7C, len);
    pos = skip_header(pos, 0x82, len);
    REQUIRE(pos + len == data.size());
    return Bytes(data.begin() + static_cast<long>(pos), data.end());
}

// EMSA-PKCS1-v1_5 for SHA-256 (RFC 8017 clause 9.2, DigestInfo prefix from its note 1).
Bytes pkcs1_block(const Bytes& message) {
    Bytes info = hex("3031300D060960864801650304020105000420");
    Bytes h = digest(EVP_sha256(), message);
    info.insert(info.end(), h.begin(), h.end());
    Bytes block = {0x00, 0x01};
    block.resize(256 - info.size() - 1, 0xFF);
    block.push_back(0x00);
    block.insert(block.end(), info.begin(), info.end());
    return block;
}

const Bytes kMessage = {'c', 'a', 'c', 't', 'o', 'o', 'l'};

}  // namespace

TEST_SUITE("card") {
    TEST_CASE("PIV instructions answer 6D00 until the application is selected") {
        Card card = fresh();
        CHECK(sw(card.transmit(apdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C 01 7E"), 0))) == 0x6D00);
        CHECK(sw(card.transmit(apdu(0x00, 0x20, 0x00, 0x80))) == 0x6D00);
        CHECK(sw(card.transmit(apdu(0x00, 0xA4, 0x04, 0x00, hex("A0 00 00 03 09"), 0))) == 0x6A82);
        CHECK(sw(card.transmit(apdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C 01 7E"), 0))) == 0x6D00);
        CHECK_FALSE(card.status().application_selected);
    }

    TEST_CASE("A card without the PIV application answers 6A82 to its SELECT, full or truncated") {
        Card card = fresh("no-piv");
        CHECK(sw(card.transmit(apdu(0x00, 0xA4, 0x04, 0x00, hex("A0 00 00 03 08 00 00 10 00 01 00"),
                                    0))) == 0x6A82);
        CHECK(sw(card.transmit(apdu(0x00, 0xA4, 0x04, 0x00, hex("A0 00 00 03 08"), 0))) == 0x6A82);
        CHECK(sw(card.transmit(apdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C 03 5F C1 05"), 0))) == 0x6D00);
        CHECK_FALSE(card.status().application_selected);
    }

    TEST_CASE("SELECT answers the application property template for full and truncated AIDs") {
        Card card = fresh();
        // SP 800-73-4 part 2 table 3: 61 { 4F PIX, 79 { 4F RID }, 50 label, AC algorithms }.
        Bytes r = select_piv(card);
        REQUIRE(sw(r) == 0x9000);
        Bytes apt = body(r);
        REQUIRE(apt.size() > 20);
        CHECK(apt[0] == 0x61);
        CHECK(apt[1] == apt.size() - 2);
        CHECK(Bytes(apt.begin() + 2, apt.begin() + 19) ==
              hex("4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08"));
        Bytes rsa_listed = hex("80 01 07");
        CHECK(std::search(apt.begin(), apt.end(), rsa_listed.begin(), rsa_listed.end()) !=
              apt.end());
        for (const char* aid : {"A0 00 00 03 08 00 00 10 00", "A0 00 00 03 08"}) {
            Card other = fresh();
            CHECK(sw(other.transmit(apdu(0x00, 0xA4, 0x04, 0x00, hex(aid), 0))) == 0x9000);
        }
        // A failed SELECT leaves the PIV application selected.
        CHECK(sw(card.transmit(apdu(0x00, 0xA4, 0x04, 0x00, hex("A0 00 00 01 16 DB 00"), 0))) ==
              0x6A82);
        CHECK(sw(get_data(card, hex("7E"))) == 0x9000);
        CHECK(sw(card.transmit(apdu(0x00, 0xA4, 0x00, 0x00, hex("3F 00")))) == 0x6A86);
        CHECK(card.transmit(apdu(0x00, 0xA4, 0x04, 0x0C, hex("D2 33 00 00 00 45"))) ==
              hex("6A 82"));
        CHECK(card.transmit(apdu(0x00, 0xA4, 0x04, 0x0C, hex("A0 00 00 03 08"))) == hex("90 00"));
    }

    TEST_CASE("GET DATA answers each certificate container, reassembled from 61xx pieces") {
        Card card = fresh();
        select_piv(card);
        const std::pair<const char*, const char*> slots[] = {
            {"9a", "5F C1 05"}, {"9c", "5F C1 0A"}, {"9d", "5F C1 0B"}, {"9e", "5F C1 01"}};
        for (auto [slot, tag] : slots) {
            CAPTURE(slot);
            Bytes r = get_data(card, hex(tag));
            REQUIRE(sw(r) == 0x9000);
            Container c = parse_container(body(r));
            CHECK(c.info == 0x00);
            CHECK(c.cert == der_of(slot_cert("", slot).get()));
        }
    }

    TEST_CASE("A response longer than Le comes in pieces, and another command discards the rest") {
        Card card = fresh();
        select_piv(card);
        Bytes r = card.transmit(apdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C 03 5F C1 05"), 0x10));
        CHECK(body(r).size() == 16);
        CHECK(sw(r) == 0x6100);  // more than 255 bytes left
        CHECK(sw(card.transmit(apdu(0x00, 0x20, 0x00, 0x80))) == 0x63C3);
        CHECK(sw(card.transmit(apdu(0x00, 0xC0, 0x00, 0x00, {}, 0))) == 0x6985);
        // GET RESPONSE with a wrong P1-P2 does not lose the answer.
        r = card.transmit(apdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C 03 5F C1 05"), 0));
        CHECK((sw(r) >> 8) == 0x61);
        CHECK(sw(card.transmit(apdu(0x00, 0xC0, 0x01, 0x00, {}, 0))) == 0x6A86);
        CHECK(body(card.transmit(apdu(0x00, 0xC0, 0x00, 0x00, {}, 0))).size() == 256);
    }

    TEST_CASE("An extended APDU gets the whole object at once") {
        Card card = fresh();
        select_piv(card);
        Bytes whole = card.transmit(extended_apdu(0xCB, 0x3F, 0xFF, hex("5C 03 5F C1 05"), 0));
        REQUIRE(sw(whole) == 0x9000);
        CHECK(body(whole) == body(get_data(card, hex("5F C1 05"))));
    }

    TEST_CASE("Discovery, CHUID, CCC, key history and the absent security object") {
        Card card = fresh();
        select_piv(card);
        // SP 800-73-4 part 1 table 18: 7E { 4F PIV AID, 5F2F PIN usage policy 40 10 }.
        Bytes d = get_data(card, hex("7E"));
        CHECK(d == hex("7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 40 10 90 00"));
        Bytes chuid = body(get_data(card, hex("5F C1 02")));
        REQUIRE(chuid.size() > 60);
        CHECK(chuid[0] == 0x53);
        CHECK(Bytes(chuid.begin() + 2, chuid.begin() + 4) == hex("30 19"));
        CHECK(Bytes(chuid.begin() + 29, chuid.begin() + 31) == hex("34 10"));
        CHECK(Bytes(chuid.begin() + 47, chuid.begin() + 49) == hex("35 08"));
        CHECK(Bytes(chuid.end() - 4, chuid.end()) == hex("3E 00 FE 00"));
        Bytes ccc = body(get_data(card, hex("5F C1 07")));
        CHECK(Bytes(ccc.begin() + 2, ccc.begin() + 9) == hex("F0 15 A0 00 00 01 16"));
        CHECK(get_data(card, hex("5F C1 0C")) == hex("53 08 C1 01 00 C2 01 00 FE 00 90 00"));
        CHECK(sw(get_data(card, hex("5F C1 06"))) == 0x6A82);
    }

    TEST_CASE("GET DATA refuses wrong parameters and malformed tag lists") {
        Card card = fresh();
        select_piv(card);
        CHECK(sw(card.transmit(apdu(0x00, 0xCB, 0x3F, 0xFE, hex("5C 01 7E"), 0))) == 0x6A86);
        CHECK(sw(card.transmit(apdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C 03 5F C1"), 0))) == 0x6A80);
        CHECK(sw(card.transmit(apdu(0x00, 0xCB, 0x3F, 0xFF, hex("5D 01 7E"), 0))) == 0x6A80);
        CHECK(sw(card.transmit(apdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C 01 7E 00"), 0))) == 0x6A80);
        CHECK(sw(card.transmit(apdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C 01 01"), 0))) == 0x6A80);
        CHECK(sw(card.transmit(apdu(0x00, 0xCB, 0x3F, 0xFF, {}, 0))) == 0x6A80);
    }

    TEST_CASE("Printed information needs the PIN") {
        Card card = fresh();
        select_piv(card);
        CHECK(sw(get_data(card, hex("5F C1 09"))) == 0x6982);
        REQUIRE(verify(card, "123456") == 0x9000);
        Bytes info = get_data(card, hex("5F C1 09"));
        CHECK(sw(info) == 0x9000);
        CHECK(info[2] == 0x01);  // tag 01: name
    }

    TEST_CASE("Three wrong PINs block it; the PUK unblocks it with a new PIN") {
        Card card = fresh();
        select_piv(card);
        CHECK(sw(card.transmit(apdu(0x00, 0x20, 0x00, 0x80))) == 0x63C3);
        CHECK(verify(card, "000000") == 0x63C2);
        CHECK(verify(card, "000000") == 0x63C1);
        CHECK(verify(card, "000000") == 0x6983);
        CHECK(verify(card, "123456") == 0x6983);
        CHECK(sw(card.transmit(apdu(0x00, 0x20, 0x00, 0x80))) == 0x6983);
        CHECK(card.status().pin_tries == 0);
        Bytes reset = pin_field("12345678");
        Bytes new_pin = pin_field("654321");
        reset.insert(reset.end(), new_pin.begin(), new_pin.end());
        CHECK(sw(card.transmit(apdu(0x00, 0x2C, 0x00, 0x80, reset))) == 0x9000);
        CHECK(verify(card, "654321") == 0x9000);
        CHECK(sw(card.transmit(apdu(0x00, 0x20, 0x00, 0x80))) == 0x9000);
        // The verified state ends with P1 = FF.
        CHECK(sw(card.transmit(apdu(0x00, 0x20, 0xFF, 0x80))) == 0x9000);
        CHECK(sw(card.transmit(apdu(0x00, 0x20, 0x00, 0x80))) == 0x63C3);
    }

    TEST_CASE("Wrong PUKs count down and block the PUK") {
        Card card = fresh();
        select_piv(card);
        Bytes wrong = pin_field("87654321");
        Bytes new_pin = pin_field("111111");
        wrong.insert(wrong.end(), new_pin.begin(), new_pin.end());
        CHECK(sw(card.transmit(apdu(0x00, 0x2C, 0x00, 0x80, wrong))) == 0x63C2);
        CHECK(sw(card.transmit(apdu(0x00, 0x2C, 0x00, 0x80, wrong))) == 0x63C1);
        CHECK(sw(card.transmit(apdu(0x00, 0x2C, 0x00, 0x80, wrong))) == 0x6983);
        CHECK(card.status().puk_tries == 0);
        CHECK(verify(card, "123456") == 0x9000);  // the PIN itself is untouched
    }

    TEST_CASE("A malformed PIN is refused without costing a try") {
        Card card = fresh();
        select_piv(card);
        CHECK(verify(card, "12345") == 0x6A80);
        CHECK(verify(card, "12345a") == 0x6A80);
        CHECK(sw(card.transmit(apdu(0x00, 0x20, 0x00, 0x80, hex("31 32 33 34 35 36 FF")))) ==
              0x6A80);
        CHECK(sw(card.transmit(apdu(0x00, 0x20, 0x00, 0x80, hex("31 32 33 34 35 36 FF 37")))) ==
              0x6A80);
        CHECK(card.status().pin_tries == 3);
        CHECK(verify(card, "123456", 0x00) == 0x6A88);  // no global PIN on this card
        CHECK(sw(card.transmit(apdu(0x00, 0x20, 0x01, 0x80))) == 0x6A86);
    }

    TEST_CASE("CHANGE REFERENCE DATA replaces the PIN") {
        Card card = fresh();
        select_piv(card);
        Bytes change = pin_field("123456");
        Bytes next = pin_field("24681357");
        change.insert(change.end(), next.begin(), next.end());
        CHECK(sw(card.transmit(apdu(0x00, 0x24, 0x00, 0x80, change))) == 0x9000);
        CHECK(sw(card.transmit(apdu(0x00, 0x24, 0x00, 0x80, change))) == 0x63C2);
        CHECK(verify(card, "123456") == 0x63C1);
        CHECK(verify(card, "24681357") == 0x9000);
        CHECK(sw(card.transmit(apdu(0x00, 0x24, 0x00, 0x80, pin_field("24681357")))) == 0x6A80);
    }

    TEST_CASE("RSA 2048 signature with 9A: PIN first, extended or chained, checked with the cert") {
        Card card = fresh();
        select_piv(card);
        Bytes command = auth_template(0x81, pkcs1_block(kMessage));
        CHECK(command.size() == 266);
        CHECK(sw(card.transmit(extended_apdu(0x87, 0x07, 0x9A, command, 0))) == 0x6982);
        REQUIRE(verify(card, "123456") == 0x9000);

        Bytes r = card.transmit(extended_apdu(0x87, 0x07, 0x9A, command, 0));
        REQUIRE(sw(r) == 0x9000);
        Bytes sig = auth_result(body(r));
        CHECK(
            verify_with_certificate(slot_cert("", "9a").get(), EVP_sha256(), kMessage, sig, true));

        // As OpenSC sends it without extended APDUs: a chain of 255 bytes, then the rest.
        Bytes first(command.begin(), command.begin() + 255);
        Bytes rest(command.begin() + 255, command.end());
        CHECK(sw(card.transmit(apdu(0x10, 0x87, 0x07, 0x9A, first))) == 0x9000);
        Bytes chained = exchange(card, apdu(0x00, 0x87, 0x07, 0x9A, rest, 0));
        REQUIRE(sw(chained) == 0x9000);
        CHECK(body(chained).size() == 264);
        CHECK(verify_with_certificate(slot_cert("", "9a").get(), EVP_sha256(), kMessage,
                                      auth_result(body(chained)), true));
    }

    TEST_CASE("A broken chain is forgotten") {
        Card card = fresh();
        select_piv(card);
        verify(card, "123456");
        Bytes command = auth_template(0x81, pkcs1_block(kMessage));
        Bytes first(command.begin(), command.begin() + 255);
        Bytes rest(command.begin() + 255, command.end());
        CHECK(sw(card.transmit(apdu(0x10, 0x87, 0x07, 0x9A, first))) == 0x9000);
        CHECK(sw(get_data(card, hex("7E"))) == 0x9000);
        CHECK(sw(card.transmit(apdu(0x00, 0x87, 0x07, 0x9A, rest, 0))) == 0x6A80);
    }

    TEST_CASE("ECDSA P-384 with 9E needs no PIN; the DER signature verifies") {
        Card card = fresh();
        select_piv(card);
        Bytes hash = digest(EVP_sha384(), kMessage);
        Bytes r = exchange(card, apdu(0x00, 0x87, 0x14, 0x9E, auth_template(0x81, hash), 0));
        REQUIRE(sw(r) == 0x9000);
        CHECK(verify_with_certificate(slot_cert("", "9e").get(), EVP_sha384(), kMessage,
                                      auth_result(body(r)), false));
        CHECK(sw(card.transmit(apdu(0x00, 0x87, 0x11, 0x9E, auth_template(0x81, hash), 0))) ==
              0x6A80);
    }

    TEST_CASE("A certificate whose key is not on the card: readable, but the key is not found") {
        Card card = fresh("key-missing");
        select_piv(card);
        REQUIRE(verify(card, "123456") == 0x9000);
        Bytes container = exchange(card, apdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C 03 5F C1 05"), 0));
        REQUIRE(sw(container) == 0x9000);
        CHECK(parse_container(body(container)).cert ==
              der_of(slot_cert("key-missing", "9a").get()));
        // SP 800-73-4 part 2, GENERAL AUTHENTICATE: 6A88 when the key reference holds no key.
        Bytes command = auth_template(0x81, pkcs1_block(kMessage));
        CHECK(sw(card.transmit(extended_apdu(0x87, 0x07, 0x9A, command, 0))) == 0x6A88);
        // The other keys sign as before.
        Bytes hash = digest(EVP_sha384(), kMessage);
        CHECK(sw(exchange(card, apdu(0x00, 0x87, 0x14, 0x9E, auth_template(0x81, hash), 0))) ==
              0x9000);
    }

    TEST_CASE("9C needs a VERIFY right before each signature") {
        Card card = fresh();
        select_piv(card);
        Bytes hash = digest(EVP_sha256(), kMessage);
        Bytes sign = apdu(0x00, 0x87, 0x11, 0x9C, auth_template(0x81, hash), 0);
        CHECK(sw(card.transmit(sign)) == 0x6982);
        REQUIRE(verify(card, "123456") == 0x9000);
        Bytes r = exchange(card, sign);
        REQUIRE(sw(r) == 0x9000);
        CHECK(verify_with_certificate(slot_cert("", "9c").get(), EVP_sha256(), kMessage,
                                      auth_result(body(r)), false));
        CHECK(sw(card.transmit(sign)) == 0x6982);
        REQUIRE(verify(card, "123456") == 0x9000);
        CHECK(sw(get_data(card, hex("7E"))) == 0x9000);
        CHECK(sw(card.transmit(sign)) == 0x6982);
    }

    TEST_CASE("GENERAL AUTHENTICATE refuses what a card refuses") {
        Card card = fresh();
        select_piv(card);
        verify(card, "123456");
        Bytes hash = digest(EVP_sha256(), kMessage);
        CHECK(sw(card.transmit(apdu(0x00, 0x87, 0x11, 0x9A, auth_template(0x81, hash), 0))) ==
              0x6A80);
        CHECK(sw(card.transmit(apdu(0x00, 0x87, 0x07, 0x82, auth_template(0x81, hash), 0))) ==
              0x6A88);
        CHECK(sw(card.transmit(apdu(0x00, 0x87, 0x07, 0x9A, auth_template(0x81, hash), 0))) ==
              0x6A80);
        CHECK(sw(card.transmit(apdu(0x00, 0x87, 0x14, 0x9E, hex("7C 02 81 00"), 0))) == 0x6A80);
        CHECK(sw(card.transmit(apdu(0x00, 0x87, 0x14, 0x9E, hex("7C 03 82 00"), 0))) == 0x6A80);
        // The management key's challenge, which OpenSC uses for random numbers.
        Bytes challenge = card.transmit(apdu(0x00, 0x87, 0x00, 0x9B, hex("7C 02 81 00"), 0));
        CHECK(sw(challenge) == 0x9000);
        CHECK(Bytes(challenge.begin(), challenge.begin() + 4) == hex("7C 0A 81 08"));
    }

    TEST_CASE("ECDH with an EC key management key agrees with OpenSSL on the peer's side") {
        Card card = fresh("ecc-keys");
        select_piv(card);
        verify(card, "123456");
        EVP_PKEY* peer = EVP_EC_gen("P-256");
        REQUIRE(peer != nullptr);
        Bytes point(65);
        std::size_t len = 0;
        REQUIRE(EVP_PKEY_get_octet_string_param(peer, "encoded-pub-key", point.data(), point.size(),
                                                &len) == 1);
        Bytes r = exchange(card, apdu(0x00, 0x87, 0x11, 0x9D, auth_template(0x85, point), 0));
        REQUIRE(sw(r) == 0x9000);
        auto cert = slot_cert("ecc-keys", "9d");
        EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(peer, nullptr);
        Bytes expected(32);
        std::size_t elen = expected.size();
        REQUIRE(EVP_PKEY_derive_init(ctx) == 1);
        REQUIRE(EVP_PKEY_derive_set_peer(ctx, X509_get0_pubkey(cert.get())) == 1);
        REQUIRE(EVP_PKEY_derive(ctx, expected.data(), &elen) == 1);
        CHECK(auth_result(body(r)) == expected);
        point[10] ^= 0x01;  // no longer on the curve
        CHECK(sw(card.transmit(apdu(0x00, 0x87, 0x11, 0x9D, auth_template(0x85, point), 0))) ==
              0x6A80);
        EVP_PKEY_CTX_free(ctx);
        EVP_PKEY_free(peer);
    }

    TEST_CASE("Class, instruction and length errors") {
        Card card = fresh();
        select_piv(card);
        CHECK(card.transmit(hex("00 CB 3F")) == hex("67 00"));
        CHECK(card.transmit(hex("80 CB 3F FF 03 5C 01 7E 00")) == hex("6E 00"));
        CHECK(card.transmit(hex("01 CB 3F FF 03 5C 01 7E 00")) == hex("68 81"));
        CHECK(card.transmit(hex("0C CB 3F FF 03 5C 01 7E 00")) == hex("68 82"));
        CHECK(card.transmit(hex("00 60 00 00")) == hex("6D 00"));
        CHECK(card.transmit(hex("00 CA 00 00 00")) == hex("6D 00"));
        CHECK(card.transmit(hex("00 CB 3F FF 05 5C 01 7E 00")) == hex("67 00"));
        CHECK(card.transmit(hex("00 CB 3F FF 00 00")) == hex("67 00"));
    }

    TEST_CASE("Every malformed, truncated or random APDU gets a plausible status word") {
        static const std::uint8_t kSw1[] = {0x61, 0x62, 0x63, 0x67, 0x68, 0x69, 0x6A,
                                            0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x90};
        auto plausible = [](const Bytes& r) {
            return r.size() >= 2 &&
                   std::find(std::begin(kSw1), std::end(kSw1), r[r.size() - 2]) != std::end(kSw1);
        };
        std::mt19937 rng(20240501);
        for (const char* profile : {"", "t0"}) {
            Card card = fresh(profile);
            std::vector<Bytes> valid = {
                apdu(0x00, 0xA4, 0x04, 0x00, hex("A0 00 00 03 08"), 0),
                apdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C 03 5F C1 05"), 0),
                apdu(0x00, 0x20, 0x00, 0x80, pin_field("123456")),
                apdu(0x10, 0x87, 0x07, 0x9A, Bytes(255, 0x7C)),
                apdu(0x00, 0x87, 0x14, 0x9E, auth_template(0x81, Bytes(48, 1)), 0),
                extended_apdu(0x87, 0x07, 0x9A, auth_template(0x81, Bytes(256, 2)), 0),
                apdu(0x00, 0x2C, 0x00, 0x80, Bytes(16, 0x31)),
                apdu(0x00, 0xC0, 0x00, 0x00, {}, 0)};
            for (const Bytes& v : valid) {
                for (std::size_t n = 0; n <= v.size(); ++n) {
                    select_piv(card);
                    CHECK(plausible(card.transmit(std::span(v).first(n))));
                }
            }
            const std::uint8_t ins[] = {0xA4, 0xCB, 0x20, 0x24, 0x2C, 0x87, 0xC0, 0xDB, 0x47};
            for (int i = 0; i < 20000; ++i) {
                Bytes cmd(rng() % 300);
                for (auto& b : cmd) {
                    b = static_cast<std::uint8_t>(rng());
                }
                if (cmd.size() >= 2 && rng() % 4 != 0) {
                    cmd[0] = (rng() % 2) ? 0x00 : 0x10;
                    cmd[1] = ins[rng() % std::size(ins)];
                }
                if (cmd.size() >= 5 && rng() % 2 == 0) {
                    cmd[4] = static_cast<std::uint8_t>(cmd.size() - 5 - rng() % 2);
                }
                Bytes r = card.transmit(cmd);
                CHECK(plausible(r));
                if (rng() % 50 == 0) {
                    select_piv(card);
                }
            }
        }
    }

}  // TEST_SUITE
