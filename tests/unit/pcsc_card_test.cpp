#include <doctest/doctest.h>

#include "core/pcsc/card_handle.hpp"
#include "core/pcsc/features.hpp"
#include "core/util/error.hpp"
#include "pcsc_fake.hpp"

using namespace cac;
using namespace cac::pcsc;
using namespace cac::test;

TEST_CASE("a failed connect names the code and the reader") {
    FakePcsc fake;
    fake.connect_rv = LONG(0x8010000C);
    Context context(fake.api());
    try {
        CardHandle card(context, "Virtual PCD 00 01");
        FAIL("no error");
    } catch (const Error& error) {
        CHECK(error.message() ==
              "failed to connect to the card: there is no card in the reader: "
              "SCARD_E_NO_SMARTCARD (0x8010000c) (reader Virtual PCD 00 01)");
    }
}

TEST_CASE("a card handle transmits with the PCI of its protocol and disconnects as told") {
    FakePcsc fake;
    Context context(fake.api());
    SUBCASE("T=1") {
        fake.active_protocol = SCARD_PROTOCOL_T1;
        CardHandle card(context, "R", ShareMode::shared, protocols::any, Disposition::reset);
        CHECK(card.transmit(*parse_hex("00A4040000")) == Bytes{0x90, 0x00});
        CHECK(fake.send_pcis == std::vector<const SCARD_IO_REQUEST*>{SCARD_PCI_T1});
    }
    SUBCASE("T=0") {
        fake.active_protocol = SCARD_PROTOCOL_T0;
        CardHandle card(context, "R", ShareMode::shared, protocols::any, Disposition::reset);
        (void)card.transmit(*parse_hex("00A4040000"));
        CHECK(fake.send_pcis == std::vector<const SCARD_IO_REQUEST*>{SCARD_PCI_T0});
    }
    CHECK(fake.dispositions == std::vector<DWORD>{SCARD_RESET_CARD});
}

TEST_CASE("a direct connection has no protocol to transmit with") {
    FakePcsc fake;
    fake.active_protocol = SCARD_PROTOCOL_UNDEFINED;
    Context context(fake.api());
    CardHandle card(context, "R", ShareMode::direct, protocols::none);
    CHECK_THROWS_AS((void)card.transmit(*parse_hex("00A4040000")), Error);
    CHECK(fake.sent.empty());
}

TEST_CASE("status decodes the card state bits, the reader name and the ATR") {
    FakePcsc fake;
    fake.atr = *parse_hex("3B8C8001636163746F6F6C2D5049563127");
    Context context(fake.api());
    CardHandle card(context, "Virtual PCD 00 00");
    CardStatus status = card.status();
    CHECK(status.reader == "Virtual PCD 00 00");
    CHECK(status.present);
    CHECK(status.powered);
    CHECK(status.negotiable);
    CHECK_FALSE(status.absent);
    CHECK_FALSE(status.specific);
    CHECK_FALSE(status.swallowed);
    CHECK(protocol_name(status.protocol) == "T=1");
    CHECK(status.atr == fake.atr);
}

TEST_CASE("a transaction ends when its guard goes, or once when ended by hand") {
    FakePcsc fake;
    Context context(fake.api());
    CardHandle card(context, "R");
    { Transaction transaction = card.begin_transaction(); }
    {
        Transaction transaction = card.begin_transaction();
        transaction.end(Disposition::reset);
    }
    CHECK(fake.transactions_begun == 2);
    CHECK(fake.transaction_ends == std::vector<DWORD>{SCARD_LEAVE_CARD, SCARD_RESET_CARD});
}

// CM_IOCTL_GET_FEATURE_REQUEST is SCARD_CTL_CODE(3400) = 0x42000000 + 3400.
constexpr DWORD feature_request = 0x42000D48;

TEST_CASE("a reader without the feature request has no features (vpcd 3.3 on the test bed)") {
    FakePcsc fake;
    Context context(fake.api());
    CardHandle card(context, "R", ShareMode::direct, protocols::none);
    ReaderFeatures features = read_features(card);
    CHECK(features.features.empty());
    CHECK_FALSE(features.properties);
    CHECK_FALSE(features.pin_pad());
}

TEST_CASE("newer vpcd: GET_TLV_PROPERTIES with dwMaxAPDUDataSize 65536") {
    FakePcsc fake;
    // As vsmartcard's ifd-vpcd.c answers: the CCID class-2 code 0x42330012.
    fake.controls[feature_request] = {SCARD_S_SUCCESS, *parse_hex("12 04 42 33 00 12")};
    fake.controls[0x42330012] = {SCARD_S_SUCCESS, *parse_hex("0A 04 00 00 01 00")};
    Context context(fake.api());
    CardHandle card(context, "R", ShareMode::direct, protocols::none);
    ReaderFeatures features = read_features(card);
    REQUIRE(features.features.size() == 1);
    CHECK(feature_name(features.features[0].tag) == "FEATURE_GET_TLV_PROPERTIES");
    CHECK(features.control_code(FeatureTag::get_tlv_properties) == 0x42330012u);
    REQUIRE(features.properties);
    CHECK(features.properties->max_apdu_data_size == 65536u);
    CHECK_FALSE(features.pin_pad());
}
