// cactool's APDU engine (src/core/apdu/exchange) against the virtual PIV card in-process.
// The card implements the transport rules on its own side (61xx pieces, T=0's 6Cxx and
// "data only through GET RESPONSE", command chaining, extended length per profile); the
// witness of a correct exchange is what the card holds, read independently: the
// certificate container's tag 70 equals the DER of the PEM the profile exported (read
// with OpenSSL), and a signature made through a chained command verifies with that
// certificate's key.
#include <doctest/doctest.h>

#include "core/apdu/exchange.hpp"
#include "core/apdu/tlv.hpp"
#include "test_support.hpp"

using namespace cardsim::test;
using cac::ApduCommand;
using cac::ApduExchanger;
using cac::ExchangeOptions;
using cac::ExchangeResult;
using cac::TransmitPurpose;

namespace {

class CardOnChannel : public cac::CardChannel {
  public:
    explicit CardOnChannel(const std::string& profile) : card_(fixture(profile).profile) {
        card_.power_on();
    }
    cac::Bytes transmit(std::span<const std::uint8_t> apdu) override {
        return card_.transmit(apdu);
    }

  private:
    cardsim::Card card_;
};

const ApduCommand kSelectPiv =
    ApduCommand::parse("00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00 00");

void select(ApduExchanger& ex) {
    ExchangeResult r = ex.exchange(kSelectPiv);
    // 61xx when the exchanger was told to leave GET RESPONSE to the caller.
    REQUIRE((r.response.sw.value() == 0x9000 || r.response.sw.sw1 == 0x61));
}

// GET DATA for the PIV Authentication certificate (5FC105, SP 800-73-4 part 1 table 3).
ApduCommand get_piv_auth(cac::LengthForm form = cac::LengthForm::automatic, std::size_t ne = 256) {
    return ApduCommand::make(0x00, 0xCB, 0x3F, 0xFF, {0x5C, 0x03, 0x5F, 0xC1, 0x05}, ne, form);
}

// The certificate in the container, and the DER of the certificate the profile exported.
void check_container(const std::string& profile, const cac::Bytes& object) {
    cac::TlvDocument doc = cac::parse_tlv(object);
    CHECK_FALSE(doc.has_errors());
    const cac::TlvNode* cert = doc.find(0x70);
    REQUIRE(cert != nullptr);
    auto exported = read_pem_certificate(fixture(profile).card_dir / "9a.pem");
    CHECK(cert->value == der_of(exported.get()));
}

std::size_t count(const ExchangeResult& r, TransmitPurpose purpose) {
    std::size_t n = 0;
    for (const auto& t : r.transmissions)
        n += t.purpose == purpose ? 1 : 0;
    return n;
}

// A PKCS#1 v1.5 block of SHA-256(message) for a 2048-bit key (RFC 8017 9.2): 00 01 FF..FF
// 00 DigestInfo, the DigestInfo prefix written out from the RFC's note 1.
cac::Bytes pkcs1_block(const cac::Bytes& message) {
    cac::Bytes info = hex("30 31 30 0D 06 09 60 86 48 01 65 03 04 02 01 05 00 04 20");
    cac::Bytes hash = digest(EVP_sha256(), message);
    info.insert(info.end(), hash.begin(), hash.end());
    cac::Bytes block = {0x00, 0x01};
    block.insert(block.end(), 256 - 3 - info.size(), 0xFF);
    block.push_back(0x00);
    block.insert(block.end(), info.begin(), info.end());
    return block;
}

// GENERAL AUTHENTICATE, key 9A, RSA 2048 (SP 800-73-4 part 2 3.2.4):
// 7C 82 01 06 { 82 00, 81 82 01 00 <block> }: 266 data bytes, more than one short APDU.
ApduCommand sign_command(const cac::Bytes& block) {
    cac::TlvNode request = cac::TlvNode::nest(
        0x7C, {cac::TlvNode::primitive(0x82, {}), cac::TlvNode::primitive(0x81, block)});
    return ApduCommand::make(0x00, 0x87, 0x07, 0x9A, cac::encode_tlv(request), 256);
}

cac::Bytes signature_of(const ExchangeResult& r) {
    cac::TlvDocument doc = cac::parse_tlv(r.response.data);
    const cac::TlvNode* sig = doc.find(0x82);
    REQUIRE(sig != nullptr);
    return sig->value;
}

const ApduCommand kVerifyPin = ApduCommand::parse("00 20 00 80 08 31 32 33 34 35 36 FF FF");

}  // namespace

TEST_CASE("61xx: a certificate arrives in pieces and is joined whole") {
    CardOnChannel card("");
    ApduExchanger ex(card);
    select(ex);
    ExchangeResult r = ex.exchange(get_piv_auth());
    CHECK(r.response.sw.value() == 0x9000);
    // Le 256 brings the first 256 bytes; each GET RESPONSE (Le 00) up to 256 more.
    std::size_t rest = r.response.data.size() - 256;
    CHECK(count(r, TransmitPurpose::get_response) == (rest + 255) / 256);
    CHECK(r.response.data.size() > 512);
    CHECK_FALSE(r.interrupted);
    check_container("", r.response.data);
}

TEST_CASE("extended length: one transmit on a card that takes it") {
    CardOnChannel card("");
    ApduExchanger ex(card);
    select(ex);
    ExchangeResult r = ex.exchange(get_piv_auth(cac::LengthForm::extended, 65536));
    CHECK(r.stats.transmits == 1);
    check_container("", r.response.data);
}

TEST_CASE("a short-APDU reader: the extended command goes short, 61xx brings the rest") {
    CardOnChannel card("t0");  // T=0 rules and no extended length
    ExchangeOptions options;
    options.max_apdu_size = 261;
    ApduExchanger ex(card, options);
    select(ex);
    ExchangeResult r = ex.exchange(get_piv_auth(cac::LengthForm::extended, 65536));
    CHECK(r.transmissions.at(0).command.size() == 4 + 1 + 5 + 1);
    CHECK(r.response.sw.value() == 0x9000);
    check_container("t0", r.response.data);
}

TEST_CASE("T=0: a GET RESPONSE asking too much gets 6Cxx and is resent with that Le") {
    CardOnChannel card("t0");
    ExchangeOptions options;
    options.get_response = false;
    ApduExchanger ex(card, options);
    select(ex);
    // The discovery object (tag 7E) is small: its answer waits behind 61xx.
    ExchangeResult first = ex.exchange(ApduCommand::parse("00 CB 3F FF 03 5C 01 7E 00"));
    REQUIRE(first.response.sw.sw1 == 0x61);
    std::uint8_t size = first.response.sw.sw2;
    ExchangeResult fetched = ex.exchange(ApduCommand::parse("00 C0 00 00 00"));
    REQUIRE(fetched.transmissions.size() == 2);
    CHECK(fetched.transmissions[0].response == cac::Bytes{0x6C, size});
    CHECK(fetched.transmissions[1].purpose == TransmitPurpose::resend);
    CHECK(fetched.transmissions[1].command.back() == size);
    CHECK(fetched.response.sw.value() == 0x9000);
    // SP 800-73-4 part 1 table 13: the discovery object starts with the PIV AID.
    cac::TlvDocument doc = cac::parse_tlv(fetched.response.data);
    REQUIRE(doc.find(0x4F) != nullptr);
    CHECK(doc.find(0x4F)->value == hex("A0 00 00 03 08 00 00 10 00 01 00"));
    CHECK(doc.find(0x5F2F) != nullptr);
}

TEST_CASE("command chaining carries a 266-byte GENERAL AUTHENTICATE; the signature verifies") {
    const cac::Bytes message = {'c', 'a', 'c', 't', 'o', 'o', 'l'};
    for (std::string profile : {"", "t0"}) {
        INFO("profile " << (profile.empty() ? "default" : profile));
        CardOnChannel card(profile);
        ExchangeOptions options;
        options.chain = profile.empty();  // asked for on the default card,
        options.max_apdu_size = profile.empty() ? cac::kMaxApduSize : 261;  // forced on t0
        ApduExchanger ex(card, options);
        select(ex);
        REQUIRE(ex.exchange(kVerifyPin).response.sw.value() == 0x9000);
        ExchangeResult r = ex.exchange(sign_command(pkcs1_block(message)));
        CHECK(r.response.sw.value() == 0x9000);
        CHECK(count(r, TransmitPurpose::chain_link) == 1);
        CHECK(r.transmissions.at(0).command.at(0) == 0x10);
        auto cert = read_pem_certificate(fixture(profile).card_dir / "9a.pem");
        CHECK(verify_with_certificate(cert.get(), EVP_sha256(), message, signature_of(r), true));
    }
}

TEST_CASE("an answer left behind 61xx is drained before the next command") {
    CardOnChannel card("");
    ExchangeOptions options;
    options.get_response = false;
    ApduExchanger ex(card, options);
    select(ex);
    ExchangeResult first = ex.exchange(get_piv_auth());
    REQUIRE(first.response.sw.sw1 == 0x61);
    ExchangeResult next = ex.exchange(ApduCommand::parse("00 20 00 80"));
    CHECK(count(next, TransmitPurpose::drain) >= 1);
    CHECK(next.transmissions.back().purpose == TransmitPurpose::command);
    // VERIFY without data answers the PIN's retries (SP 800-73-4 part 2 3.2.1): 3 left.
    CHECK(next.response.sw.value() == 0x63C3);
}
