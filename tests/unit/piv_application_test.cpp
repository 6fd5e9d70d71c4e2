// SELECT and GET DATA of the PIV application over a card that checks every command it is
// sent against a script. The command bytes are written from NIST SP 800-73-4 part 2
// section 3.1.1 (SELECT: 00 A4 04 00 Lc AID Le) and 3.1.2 (GET DATA: 00 CB 3F FF Lc 5C
// <tag> Le), GET RESPONSE from ISO/IEC 7816-4 (00 C0 00 00 Le); the answers are real
// Application Property Templates and objects from tests/data/03-piv-cac-objects.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

#include "core/piv/piv.hpp"

using namespace cac;

namespace {

const std::filesystem::path kObjects =
    std::filesystem::path(CACTOOL_TESTDATA) / "03-piv-cac-objects";

constexpr std::uint32_t kNoSmartcard = 0x8010000C;  // SCARD_E_NO_SMARTCARD, pcsclite.h

Bytes hex(const std::string& text) {
    return *parse_hex(text);
}

Bytes read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes with_sw(Bytes data, std::uint16_t sw) {
    data.push_back(std::uint8_t(sw >> 8));
    data.push_back(std::uint8_t(sw));
    return data;
}

// Answers each command of the script in turn, after checking it is the one expected. A
// command past the end of the script finds the card gone.
class ScriptedCard : public CardChannel {
  public:
    struct Step {
        Bytes expect;
        Bytes answer;
    };
    explicit ScriptedCard(std::vector<Step> steps) : steps_(std::move(steps)) {}

    Bytes transmit(std::span<const std::uint8_t> apdu) override {
        if (next_ >= steps_.size())
            throw Error(ErrorDomain::pcsc, kNoSmartcard, "SCardTransmit", "the card is gone");
        const Step& step = steps_[next_++];
        CHECK(Bytes(apdu.begin(), apdu.end()) == step.expect);
        return step.answer;
    }

    bool finished() const { return next_ == steps_.size(); }

  private:
    std::vector<Step> steps_;
    std::size_t next_ = 0;
};

const Bytes kSelect = hex("00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00 00");

// The answer split in pieces of 256 bytes behind 61xx, as a card with short APDUs gives
// it: the steps are the GET DATA and then each GET RESPONSE.
std::vector<ScriptedCard::Step> chained(const Bytes& command, const Bytes& answer) {
    std::vector<ScriptedCard::Step> steps;
    std::size_t at = 0;
    Bytes expect = command;
    while (true) {
        std::size_t piece = std::min<std::size_t>(256, answer.size() - at);
        std::size_t rest = answer.size() - at - piece;
        Bytes data(answer.begin() + long(at), answer.begin() + long(at + piece));
        std::uint16_t sw = rest == 0 ? 0x9000 : std::uint16_t(0x6100 | (rest >= 256 ? 0 : rest));
        steps.push_back({expect, with_sw(std::move(data), sw)});
        at += piece;
        if (rest == 0)
            return steps;
        expect = hex("00 C0 00 00");
        expect.push_back(std::uint8_t(rest >= 256 ? 0 : rest));
    }
}

}  // namespace

TEST_CASE("SELECT sends the full PIV AID and reads the property template") {
    // Nitrokey 3's answer (piv_select_aid_apt_responses.txt, entry 5): label "Nitrokey
    // PIV", six algorithms, the bare PIX in 4F.
    ScriptedCard card({{kSelect, with_sw(hex("61 66 4F 06 00 00 10 00 01 00 50 0C 4E 69 74 72"
                                             "6F 6B 65 79 20 50 49 56 5F 50 2D 68 74 74 70 73"
                                             "3A 2F 2F 67 69 74 68 75 62 2E 63 6F 6D 2F 4E 69"
                                             "74 72 6F 6B 65 79 2F 70 69 76 2D 61 75 74 68 65"
                                             "6E 74 69 63 61 74 6F 72 AC 15 80 01 03 80 01 0C"
                                             "80 01 11 80 01 E2 80 01 E3 80 01 07 06 01 00 79"
                                             "07 4F 05 A0 00 00 03 08"),
                                         0x9000)}});
    ApduExchanger exchanger(card);
    piv::ApplicationTemplate apt = piv::select(exchanger);
    CHECK(card.finished());
    CHECK(apt.aid == hex("00 00 10 00 01 00"));
    CHECK(apt.label == "Nitrokey PIV");
    CHECK(apt.url == "https://github.com/Nitrokey/piv-authenticator");
    CHECK(apt.algorithms == std::vector<std::uint8_t>{0x03, 0x0C, 0x11, 0xE2, 0xE3, 0x07});
    CHECK(apt.authority == hex("A0 00 00 03 08"));
    CHECK(apt.warnings.empty());
}

TEST_CASE("SELECT follows 61xx with GET RESPONSE") {
    // The minimal template of entry 2, announced with 61 18 and fetched with 00 C0 00 00 18.
    Bytes apt = hex("61 16 4F 0B A0 00 00 03 08 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08");
    ScriptedCard card({{kSelect, hex("61 18")}, {hex("00 C0 00 00 18"), with_sw(apt, 0x9000)}});
    ApduExchanger exchanger(card);
    piv::ApplicationTemplate t = piv::select(exchanger);
    CHECK(card.finished());
    CHECK(t.aid == Bytes(piv::kPivAid.begin(), piv::kPivAid.end()));
    CHECK(t.label.empty());
}

TEST_CASE("templates cards really sent, odd ones included") {
    SUBCASE("a 7F66 after the template (Oberthur, entry 1)") {
        piv::ApplicationTemplate t = piv::parse_application_template(
            hex("61 39 4F 0B A0 00 00 03 08 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08 50 0E"
                "49 44 2D 4F 6E 65 20 50 49 56 20 42 49 4F 5F 50 10 77 77 77 2E 6F 62 65 72 74"
                "68 75 72 2E 63 6F 6D 7F 66 08 02 02 80 00 02 02 80 00"));
        CHECK(t.label == "ID-One PIV BIO");
        CHECK(t.url == "www.oberthur.com");
        CHECK(t.warnings.empty());
    }
    SUBCASE("a bare RID in 79 (G+D SCE 7.0, entry 3)") {
        piv::ApplicationTemplate t = piv::parse_application_template(
            hex("61 0F 4F 06 00 10 00 01 00 00 79 05 A0 00 00 03 08"));
        CHECK(t.aid == hex("00 10 00 01 00 00"));
        CHECK(t.authority == hex("A0 00 00 03 08"));
        CHECK(t.warnings.size() == 1);
    }
    SUBCASE("a 128-byte template with the length written 80 (PivApplet 0.8.2, entry 6)") {
        piv::ApplicationTemplate t = piv::parse_application_template(
            hex("61 80 4F 0B A0 00 00 03 08 00 00 10 00 01 00 79 0D 4F 0B A0 00 00 03 08 00 00 10"
                "00 01 00 50 1C 50 69 76 41 70 70 6C 65 74 20 76 30 2E 38 2E 32 2F 52 45 65 50 53"
                "41 78 4C 72 61 44 5F 50 26 68 74 74 70 73 3A 2F 2F 67 69 74 68 75 62 2E 63 6F 6D"
                "2F 61 72 65 6B 69 6E 61 74 68 2F 50 69 76 41 70 70 6C 65 74 AC 1B 80 01 03 80 01"
                "08 80 01 0A 80 01 0C 80 01 06 80 01 07 80 01 11 80 01 14 06 01 00"));
        CHECK(t.label == "PivApplet v0.8.2/REePSAxLraD");
        CHECK(t.algorithms ==
              std::vector<std::uint8_t>{0x03, 0x08, 0x0A, 0x0C, 0x06, 0x07, 0x11, 0x14});
        CHECK(t.warnings.size() == 1);
    }
    SUBCASE("no template at all") {
        CHECK(piv::parse_application_template({}).warnings.size() == 1);
        CHECK(piv::parse_application_template(hex("6F 00")).warnings.size() == 1);
    }
}

TEST_CASE("SELECT refused: the status word; the card gone: the PC/SC error unchanged") {
    // ISO/IEC 7816-4: 6A82 to SELECT by name is "no such application": not found, with
    // a hint about the application rather than the taxonomy's empty-slot one.
    ScriptedCard missing({{kSelect, hex("6A 82")}});
    ApduExchanger to_missing(missing);
    try {
        (void)piv::select(to_missing);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.is(CoreCode::not_found));
        CHECK(piv::is_no_piv_application(e));
        CHECK(e.hint().find("no PIV application") != std::string::npos);
        CHECK(e.hint().find("readers --probe") != std::string::npos);
    }
    ScriptedCard refusing({{kSelect, hex("69 85")}});
    ApduExchanger exchanger(refusing);
    try {
        (void)piv::select(exchanger);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.is(ErrorDomain::status_word, 0x6985));
        CHECK_FALSE(piv::is_no_piv_application(e));
    }
    ScriptedCard gone({});
    ApduExchanger to_nothing(gone);
    try {
        (void)piv::select(to_nothing);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.is(ErrorDomain::pcsc, kNoSmartcard));
    }
}

TEST_CASE("GET DATA commands as SP 800-73-4 writes them") {
    // Part 2 3.1.2, and the commands of the testdata annotations.
    CHECK(piv::get_data_command(0x5FC105).encode() == hex("00 CB 3F FF 05 5C 03 5F C1 05 00"));
    CHECK(piv::get_data_command(0x5FC102).encode() == hex("00 CB 3F FF 05 5C 03 5F C1 02 00"));
    CHECK(piv::get_data_command(0x7E).encode() == hex("00 CB 3F FF 03 5C 01 7E 00"));
    CHECK(piv::get_data_command(0x7F61).encode() == hex("00 CB 3F FF 04 5C 02 7F 61 00"));
}

TEST_CASE("GET DATA of a certificate over 61xx: the value of the 53 wrapper") {
    Bytes object = read_bytes(
        kObjects / "constructed-cert-containers/card46_piv_auth_9A_5FC105_uncompressed.bin");
    REQUIRE(object.size() == 1586);  // 53 82 06 2E and 1582 bytes, as the .txt says
    ScriptedCard card(chained(hex("00 CB 3F FF 05 5C 03 5F C1 05 00"), object));
    ApduExchanger exchanger(card);
    std::optional<Bytes> value = piv::get_data(exchanger, 0x5FC105);
    CHECK(card.finished());
    REQUIRE(value);
    CHECK(*value == Bytes(object.begin() + 4, object.end()));
}

TEST_CASE("GET DATA of the discovery object: its own 7E template, no 53") {
    Bytes object = read_bytes(
        kObjects /
        "icam-test-cards/discovery-object-variants/card28_discovery_6020_global_pin_primary.bin");
    ScriptedCard card({{hex("00 CB 3F FF 03 5C 01 7E 00"), with_sw(object, 0x9000)}});
    ApduExchanger exchanger(card);
    std::optional<Bytes> value = piv::get_data(exchanger, 0x7E);
    REQUIRE(value);
    CHECK(*value == hex("4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 60 20"));
}

TEST_CASE("GET DATA: an empty slot, an unselected application, a refused read") {
    Bytes command = hex("00 CB 3F FF 05 5C 03 5F C1 0A 00");
    SUBCASE("6A82 is no such object") {
        ScriptedCard card({{command, hex("6A 82")}});
        ApduExchanger exchanger(card);
        CHECK_FALSE(piv::get_data(exchanger, 0x5FC10A).has_value());
    }
    SUBCASE("6D00 says to select first") {
        ScriptedCard card({{command, hex("6D 00")}});
        ApduExchanger exchanger(card);
        try {
            (void)piv::get_data(exchanger, 0x5FC10A);
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.is(ErrorDomain::status_word, 0x6D00));
            CHECK(e.reason().find("not selected") != std::string::npos);
            CHECK(e.hint().find("select") != std::string::npos);
        }
    }
    SUBCASE("6982 (a PIN is needed) is the card's refusal") {
        ScriptedCard card({{command, hex("69 82")}});
        ApduExchanger exchanger(card);
        CHECK_THROWS_AS((void)piv::get_data(exchanger, 0x5FC10A), Error);
    }
    SUBCASE("an empty 53 is an object with no bytes") {
        ScriptedCard card({{command, hex("53 00 90 00")}});
        ApduExchanger exchanger(card);
        std::optional<Bytes> value = piv::get_data(exchanger, 0x5FC10A);
        REQUIRE(value);
        CHECK(value->empty());
    }
    SUBCASE("an answer that is not a 53 object") {
        ScriptedCard card({{command, hex("70 03 01 02 90 00")}});
        ApduExchanger exchanger(card);
        CHECK_THROWS_AS((void)piv::get_data(exchanger, 0x5FC10A), Error);
    }
}

TEST_CASE("GET DATA: the card removed in the middle of GET RESPONSE is the PC/SC error") {
    Bytes object(600, 0x11);
    std::vector<ScriptedCard::Step> steps =
        chained(hex("00 CB 3F FF 05 5C 03 5F C1 05 00"), object);
    steps.resize(2);  // the second GET RESPONSE finds no card
    ScriptedCard card(steps);
    ApduExchanger exchanger(card);
    try {
        (void)piv::get_data(exchanger, 0x5FC105);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.is(ErrorDomain::pcsc, kNoSmartcard));
    }
}

TEST_CASE("GET DATA: an object over the limit is refused") {
    // 53 83 01 00 00 and 65536 value bytes: 65541 in all, over kMaxObjectBytes.
    Bytes object = hex("53 83 01 00 00");
    object.resize(object.size() + 65536, 0x42);
    ScriptedCard card(chained(hex("00 CB 3F FF 05 5C 03 5F C1 05 00"), object));
    ApduExchanger exchanger(card);
    try {
        (void)piv::get_data(exchanger, 0x5FC105);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.is(CoreCode::parse_error));
        CHECK(e.reason().find("65536") != std::string::npos);
    }
}

TEST_CASE("the certificate slots of SP 800-73-4 part 1 tables 3 and 4b") {
    std::span<const piv::CertificateSlot> slots = piv::certificate_slots();
    REQUIRE(slots.size() == 4);
    CHECK(slots[0].key_ref == "9A");
    CHECK(slots[0].tag == 0x5FC105);
    CHECK(slots[1].key_ref == "9C");
    CHECK(slots[1].tag == 0x5FC10A);
    CHECK(slots[2].key_ref == "9D");
    CHECK(slots[2].tag == 0x5FC10B);
    CHECK(slots[3].key_ref == "9E");
    CHECK(slots[3].tag == 0x5FC101);
    std::span<const piv::CertificateSlot> retired = piv::retired_certificate_slots();
    REQUIRE(retired.size() == 20);
    CHECK(retired.front().tag == 0x5FC10D);
    CHECK(retired.back().key_ref == "95");
    CHECK(retired.back().tag == 0x5FC120);
    CHECK(piv::find_certificate_slot("9e")->tag == 0x5FC101);
    CHECK_FALSE(piv::find_certificate_slot("9B").has_value());
}
