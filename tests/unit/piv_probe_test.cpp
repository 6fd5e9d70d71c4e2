// SELECT of the PIV and CAC applications by AID, as `readers --probe` sends it. The
// command bytes are ISO/IEC 7816-4 clause 11.2.2's (00 A4 04 00 Lc AID [Le]); the CAC AIDs
// are those of the GSC-IS applets in tests/data/03-piv-cac-objects/cac-gsc-is (from
// libcacard's constants), the PIV AID is SP 800-73-4 part 1 section 2.2's.
#include <doctest/doctest.h>

#include "core/piv/probe.hpp"
#include "fake_channel.hpp"
#include "test_support.hpp"

using namespace cac;

namespace {

const piv::CardApplication& application(std::string_view name) {
    for (const piv::CardApplication& app : piv::probed_applications()) {
        if (app.name == name)
            return app;
    }
    FAIL("no application " << name);
    throw;
}

}  // namespace

TEST_CASE("probe: the PIV AID comes first, then the CAC applets") {
    auto apps = piv::probed_applications();
    REQUIRE(apps.size() == 8);
    CHECK(apps[0].name == "PIV");
    CHECK(apps[0].aid == test::hex_bytes("A0 00 00 03 08 00 00 10 00 01 00"));
    CHECK(application("CAC PKI identity").aid == test::hex_bytes("A0 00 00 00 79 01 00"));
    CHECK(application("CAC PKI signature").aid == test::hex_bytes("A0 00 00 00 79 01 01"));
    CHECK(application("CAC PKI encryption").aid == test::hex_bytes("A0 00 00 00 79 01 02"));
    CHECK(application("CAC CCC").aid == test::hex_bytes("A0 00 00 01 16 DB 00"));
    CHECK(application("CAC ACA").aid == test::hex_bytes("A0 00 00 00 79 03 00"));
}

TEST_CASE("probe: a CAC applet is selected without Le, its answer is the status word") {
    test::FakeChannel card({test::hex_bytes("90 00")});
    ApduExchanger exchanger(card);
    piv::SelectAnswer answer = piv::select_application(exchanger, application("CAC PKI identity"));
    CHECK(answer.answered);
    CHECK(answer.sw == 0x9000);
    REQUIRE(card.sent.size() == 1);
    CHECK(card.sent[0] == test::hex_bytes("00 A4 04 00 07 A0 00 00 00 79 01 00"));
}

TEST_CASE("probe: PIV is selected with Le, its template collected behind 61xx") {
    test::FakeChannel card({test::hex_bytes("61 03"), test::hex_bytes("61 01 4F 90 00")});
    ApduExchanger exchanger(card);
    piv::SelectAnswer answer = piv::select_application(exchanger, application("PIV"));
    CHECK(answer.answered);
    CHECK(answer.sw == 0x9000);
    REQUIRE(card.sent.size() == 2);
    CHECK(card.sent[0] == test::hex_bytes("00 A4 04 00 0B A0 00 00 03 08 00 00 10 00 01 00 00"));
    CHECK(card.sent[1] == test::hex_bytes("00 C0 00 00 03"));
}

TEST_CASE("probe: 6A82 is not answered, 6283 is (deactivated but there)") {
    test::FakeChannel card({test::hex_bytes("6A 82"), test::hex_bytes("62 83")});
    ApduExchanger exchanger(card);
    piv::SelectAnswer missing = piv::select_application(exchanger, application("CAC ACA"));
    CHECK_FALSE(missing.answered);
    CHECK(missing.sw == 0x6A82);
    piv::SelectAnswer deactivated = piv::select_application(exchanger, application("CAC CCC"));
    CHECK(deactivated.answered);
    CHECK(deactivated.sw == 0x6283);
}

TEST_CASE("probe: a card pulled out is the channel's error, not an answer") {
    test::FakeChannel card({});
    ApduExchanger exchanger(card);
    CHECK_THROWS_AS(piv::select_application(exchanger, application("PIV")), Error);
}
