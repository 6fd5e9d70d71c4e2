// PIV PIN verification over a scripted channel. The expected commands and the meaning of
// each answer are those of NIST SP 800-73-4 part 2 section 3.2.1 (VERIFY: 00 20 00 <ref>,
// the PIN padded with FF to 8 bytes; 63CX tries left, 6983 blocked, 6A88 no such
// reference) and part 1 table 4 (key references 80 application PIN, 00 Global PIN).
#include <doctest/doctest.h>

#include "core/piv/pin.hpp"
#include "fake_channel.hpp"

using namespace cac;
using cac::test::FakeChannel;
using namespace cac::piv;

namespace {

Bytes hex(const std::string& text) {
    return *parse_hex(text);
}

PinCounter status_of(const std::string& sw) {
    FakeChannel card({hex(sw)});
    ApduExchanger exchanger(card);
    PinCounter counter = read_pin_counter(exchanger, PinReference::application);
    REQUIRE(card.sent.size() == 1);
    CHECK(card.sent[0] == hex("00 20 00 80"));
    return counter;
}

DiscoveryObject discovery_with(std::uint8_t first, std::uint8_t second) {
    DiscoveryObject discovery;
    discovery.policy = PinUsagePolicy{first, second};
    return discovery;
}

}  // namespace

TEST_CASE("the empty VERIFY: 63Cx is the count, 63C0 and 6983 are blocked") {
    PinCounter three = status_of("63 C3");
    CHECK(three.state == PinCounter::State::tries_left);
    CHECK(three.tries == 3);
    CHECK_FALSE(three.nonstandard);
    CHECK(status_of("63 CF").tries == 15);
    CHECK(status_of("63 C0").state == PinCounter::State::blocked);
    CHECK_FALSE(status_of("63 C0").tries.has_value());
    CHECK(status_of("69 83").state == PinCounter::State::blocked);
}

TEST_CASE("the empty VERIFY: 630x is read as the count, flagged as nonstandard") {
    PinCounter two = status_of("63 02");
    CHECK(two.state == PinCounter::State::tries_left);
    CHECK(two.tries == 2);
    CHECK(two.nonstandard);
}

TEST_CASE("the empty VERIFY: 6300 is a count not given, never none left") {
    PinCounter counter = status_of("63 00");
    CHECK(counter.state == PinCounter::State::count_unknown);
    CHECK_FALSE(counter.tries.has_value());
}

TEST_CASE("the empty VERIFY: 9000 is verified already, the count not given") {
    PinCounter counter = status_of("90 00");
    CHECK(counter.state == PinCounter::State::verified);
    CHECK_FALSE(counter.tries.has_value());
}

TEST_CASE("the empty VERIFY: 6A88 and other refusals are errors with their status word") {
    FakeChannel card({hex("6A 88"), hex("6D 00")});
    ApduExchanger exchanger(card);
    try {
        (void)read_pin_counter(exchanger, PinReference::global);
        FAIL("6A88 was accepted");
    } catch (const Error& e) {
        CHECK(e.is(ErrorDomain::status_word, 0x6A88));
    }
    CHECK(card.sent[0] == hex("00 20 00 00"));
    CHECK_THROWS_AS((void)read_pin_counter(exchanger, PinReference::application), Error);
}

TEST_CASE("VERIFY pads the PIN with FF to 8 bytes and reads the answer") {
    FakeChannel card({hex("90 00"), hex("63 C2"), hex("69 83"), hex("63 00")});
    ApduExchanger exchanger(card);
    Secret six("123456");
    VerifyOutcome ok = verify_pin(exchanger, PinReference::application, six);
    CHECK(card.sent[0] == hex("00 20 00 80 08 31 32 33 34 35 36 FF FF"));
    CHECK(ok.result == VerifyResult::correct);

    Secret eight("12345678");
    VerifyOutcome wrong = verify_pin(exchanger, PinReference::global, eight);
    CHECK(card.sent[1] == hex("00 20 00 00 08 31 32 33 34 35 36 37 38"));
    CHECK(wrong.result == VerifyResult::incorrect);
    CHECK(wrong.counter.tries == 2);

    CHECK(verify_pin(exchanger, PinReference::application, six).result == VerifyResult::blocked);
    VerifyOutcome unknown = verify_pin(exchanger, PinReference::application, six);
    CHECK(unknown.result == VerifyResult::incorrect);
    CHECK_FALSE(unknown.counter.tries.has_value());
    CHECK(card.sent.size() == 4);
}

TEST_CASE("VERIFY: the last wrong PIN answered 63C0 is blocked") {
    FakeChannel card({hex("63 C0")});
    ApduExchanger exchanger(card);
    CHECK(verify_pin(exchanger, PinReference::application, Secret("000000")).result ==
          VerifyResult::blocked);
}

TEST_CASE("VERIFY refuses a PIN that is not 6 to 8 digits before sending anything") {
    FakeChannel card({hex("90 00")});
    ApduExchanger exchanger(card);
    for (const char* pin : {"", "12345", "123456789", "12345a", "1234 6"}) {
        CAPTURE(std::string(pin).size());
        try {
            (void)verify_pin(exchanger, PinReference::application, Secret(pin));
            FAIL("a PIN of the wrong form was sent");
        } catch (const Error& e) {
            CHECK(e.is(CoreCode::usage));
        }
    }
    CHECK(card.sent.empty());
}

TEST_CASE("VERIFY is sent once even when the channel fails") {
    FakeChannel card({});
    ApduExchanger exchanger(card);
    CHECK_THROWS_AS((void)verify_pin(exchanger, PinReference::application, Secret("123456")),
                    Error);
    CHECK(card.sent.size() == 1);
}

TEST_CASE("VERIFY answered in pieces by a T=0 card gets its status through GET RESPONSE") {
    FakeChannel card({hex("61 00"), hex("90 00")});
    ApduExchanger exchanger(card);
    CHECK(verify_pin(exchanger, PinReference::application, Secret("123456")).result ==
          VerifyResult::correct);
    REQUIRE(card.sent.size() == 2);
    CHECK(card.sent[1] == hex("00 C0 00 00 00"));
}

TEST_CASE("which PIN: the Global PIN only when the discovery object makes it primary") {
    CHECK(pin_to_verify(std::nullopt) == PinReference::application);
    CHECK(pin_to_verify(DiscoveryObject{}) == PinReference::application);
    CHECK(pin_to_verify(discovery_with(0x40, 0x10)) == PinReference::application);
    CHECK(pin_to_verify(discovery_with(0x60, 0x10)) == PinReference::application);
    CHECK(pin_to_verify(discovery_with(0x60, 0x20)) == PinReference::global);
    CHECK(pin_to_verify(discovery_with(0x68, 0x20)) == PinReference::global);
    // Bit 20 of the first byte off: the second byte is not read at all.
    CHECK(pin_to_verify(discovery_with(0x40, 0x20)) == PinReference::application);
}
