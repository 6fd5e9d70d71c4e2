// The transport rules against a fake channel that replays a card's scripted answers and
// records what it was sent. Expected APDUs are written from ISO/IEC 7816-4 (GET RESPONSE
// is CLA C0 00 00 Le; chaining sets CLA bit 0x10 on every link but the last).
#include <doctest/doctest.h>

#include <stdexcept>

#include "core/apdu/exchange.hpp"
#include "fake_channel.hpp"

using namespace cac;
using cac::test::FakeChannel;

namespace {

Bytes hex(const std::string& text) {
    return *parse_hex(text);
}

Bytes repeat(std::size_t n, std::uint8_t b) {
    return Bytes(n, b);
}

Bytes with_sw(Bytes data, std::uint16_t sw) {
    data.push_back(std::uint8_t(sw >> 8));
    data.push_back(std::uint8_t(sw));
    return data;
}

}  // namespace

TEST_CASE("a plain command is one transmit with its statistics") {
    FakeChannel card({hex("01 02 90 00")});
    ApduExchanger ex(card);
    ExchangeResult r = ex.exchange(ApduCommand::parse("00 CB 3F FF 03 5C 01 7E 00"));
    CHECK(card.sent == std::vector<Bytes>{hex("00 CB 3F FF 03 5C 01 7E 00")});
    CHECK(r.response.data == Bytes{1, 2});
    CHECK(r.response.sw == StatusWord::of(0x9000));
    CHECK(r.stats.transmits == 1);
    CHECK(r.stats.bytes_sent == 9);
    CHECK(r.stats.bytes_received == 4);
    CHECK_FALSE(r.interrupted);
    CHECK_FALSE(r.failure.has_value());
}

TEST_CASE("61xx: GET RESPONSE until done; 6100 asks for 256") {
    FakeChannel card({with_sw(repeat(10, 0xAA), 0x6100), with_sw(repeat(256, 0xBB), 0x6105),
                      with_sw(repeat(5, 0xCC), 0x9000)});
    ApduExchanger ex(card);
    ExchangeResult r = ex.exchange(ApduCommand::parse("00 CB 3F FF 05 5C 03 5F C1 05 0A"));
    REQUIRE(card.sent.size() == 3);
    CHECK(card.sent[1] == hex("00 C0 00 00 00"));
    CHECK(card.sent[2] == hex("00 C0 00 00 05"));
    CHECK(r.response.data.size() == 10 + 256 + 5);
    CHECK(r.response.data[10] == 0xBB);
    CHECK(r.response.sw == StatusWord::of(0x9000));
    CHECK(r.transmissions[1].purpose == TransmitPurpose::get_response);
    CHECK(r.stats.transmits == 3);
    CHECK_FALSE(ex.pending());
}

TEST_CASE("GET RESPONSE takes the command's channel, not its chaining bit or proprietary class") {
    FakeChannel a({hex("61 02"), hex("01 02 90 00")});
    ApduExchanger(a).exchange(ApduCommand::parse("01 CB 3F FF 00"));
    CHECK(a.sent[1] == hex("01 C0 00 00 02"));
    FakeChannel cac({hex("61 07"), hex("01 02 03 04 05 06 07 90 00")});
    ApduExchanger(cac).exchange(ApduCommand::parse("80 56 01 00 00"));
    CHECK(cac.sent[1] == hex("00 C0 00 00 07"));
}

TEST_CASE("6Cxx: the same command once more with Le = xx") {
    FakeChannel card({hex("6C 08"), with_sw(repeat(8, 1), 0x9000)});
    ApduExchanger ex(card);
    ExchangeResult r = ex.exchange(ApduCommand::parse("00 B0 00 00 00"));
    REQUIRE(card.sent.size() == 2);
    CHECK(card.sent[1] == hex("00 B0 00 00 08"));
    CHECK(r.transmissions[1].purpose == TransmitPurpose::resend);
    CHECK(r.response.data.size() == 8);

    // A second 6Cxx is the answer, not a loop.
    FakeChannel stubborn({hex("6C 08"), hex("6C 08")});
    ExchangeResult again = ApduExchanger(stubborn).exchange(ApduCommand::parse("00 B0 00 00 00"));
    CHECK(stubborn.sent.size() == 2);
    CHECK(again.response.sw == StatusWord::of(0x6C08));
}

TEST_CASE("an error during GET RESPONSE stops the chain with what came so far") {
    FakeChannel card({with_sw(repeat(4, 0xAA), 0x6104), hex("6A 82")});
    ApduExchanger ex(card);
    ExchangeResult r = ex.exchange(ApduCommand::parse("00 CB 3F FF 00"));
    CHECK(r.interrupted);
    CHECK(r.response.sw == StatusWord::of(0x6A82));
    CHECK(r.response.data == repeat(4, 0xAA));
    CHECK(r.note.find("6A82") != std::string::npos);
}

TEST_CASE("command chaining: 255-byte links with CLA bit 0x10, the last one plain") {
    Bytes data = repeat(600, 0x11);
    ApduCommand cmd = ApduCommand::make(0x00, 0xDB, 0x3F, 0xFF, data);
    REQUIRE(cmd.extended);
    FakeChannel card({hex("90 00"), hex("90 00"), hex("90 00")});
    ExchangeOptions options;
    options.chain = true;
    ExchangeResult r = ApduExchanger(card, options).exchange(cmd);
    REQUIRE(card.sent.size() == 3);
    Bytes head1 = hex("10 DB 3F FF FF"), head3 = hex("00 DB 3F FF 5A");  // 90 = 600 - 510
    CHECK(Bytes(card.sent[0].begin(), card.sent[0].begin() + 5) == head1);
    CHECK(card.sent[0].size() == 5 + 255);
    CHECK(Bytes(card.sent[1].begin(), card.sent[1].begin() + 5) == head1);
    CHECK(Bytes(card.sent[2].begin(), card.sent[2].begin() + 5) == head3);
    CHECK(card.sent[2].size() == 5 + 90);
    CHECK(r.transmissions[0].purpose == TransmitPurpose::chain_link);
    CHECK(r.response.sw == StatusWord::of(0x9000));
}

TEST_CASE("a reader without extended APDUs gets chaining without being asked") {
    ApduCommand cmd = ApduCommand::make(0x00, 0x87, 0x07, 0x9A, repeat(300, 2), 65536);
    FakeChannel card({hex("90 00"), with_sw(repeat(3, 9), 0x9000)});
    ExchangeOptions options;
    options.max_apdu_size = 261;  // a short-APDU reader: 5 + 255 + 1
    ApduExchanger(card, options).exchange(cmd);
    REQUIRE(card.sent.size() == 2);
    CHECK(card.sent[0][0] == 0x10);
    // The last link is short, with Le 256 (00) in place of 65536.
    CHECK(card.sent[1].size() == 5 + 45 + 1);
    CHECK(card.sent[1].back() == 0x00);

    // Without data to chain, an extended Le becomes 00 and 61xx brings the rest.
    FakeChannel reader({with_sw(repeat(256, 1), 0x6101), with_sw(repeat(1, 2), 0x9000)});
    ExchangeResult r = ApduExchanger(reader, options)
                           .exchange(ApduCommand::parse("00 CB 3F FF 00 00 01 7E 01 01"));
    CHECK(reader.sent[0] == hex("00 CB 3F FF 01 7E 00"));
    CHECK(r.response.data.size() == 257);
}

TEST_CASE("a refused chain link stops the chain") {
    FakeChannel card({hex("6A 80")});
    ExchangeOptions options;
    options.chain = true;
    ExchangeResult r = ApduExchanger(card, options)
                           .exchange(ApduCommand::make(0, 0xDB, 0x3F, 0xFF, repeat(300, 1)));
    CHECK(card.sent.size() == 1);
    CHECK(r.interrupted);
    CHECK(r.response.sw == StatusWord::of(0x6A80));
}

TEST_CASE("a 61xx left pending is drained before the next command") {
    FakeChannel card({hex("61 10"), with_sw(repeat(16, 3), 0x9000), hex("90 00")});
    ExchangeOptions options;
    options.get_response = false;
    ApduExchanger ex(card, options);
    ExchangeResult first = ex.exchange(ApduCommand::parse("00 CB 3F FF 00"));
    CHECK(first.response.sw == StatusWord::of(0x6110));
    CHECK(ex.pending());
    ExchangeResult second = ex.exchange(ApduCommand::parse("00 20 00 80"));
    REQUIRE(card.sent.size() == 3);
    CHECK(card.sent[1] == hex("00 C0 00 00 10"));
    CHECK(second.transmissions[0].purpose == TransmitPurpose::drain);
    CHECK(card.sent[2] == hex("00 20 00 80"));
    CHECK_FALSE(ex.pending());

    // A GET RESPONSE from the caller fetches the data itself: nothing is drained.
    FakeChannel manual({hex("61 10"), with_sw(repeat(16, 3), 0x9000)});
    ApduExchanger ex2(manual, options);
    ex2.exchange(ApduCommand::parse("00 CB 3F FF 00"));
    ExchangeResult fetched = ex2.exchange(ApduCommand::parse("00 C0 00 00 10"));
    CHECK(manual.sent.size() == 2);
    CHECK(fetched.response.data.size() == 16);
}

TEST_CASE("bounds: total answer size and transmit count") {
    std::deque<Bytes> endless;
    for (int i = 0; i < 20; ++i)
        endless.push_back(with_sw(repeat(256, 0), 0x6100));
    FakeChannel card(endless);
    ExchangeOptions options;
    options.max_response_bytes = 1000;
    ApduExchanger ex(card, options);
    ExchangeResult r = ex.exchange(ApduCommand::parse("00 CB 3F FF 00"));
    CHECK(r.interrupted);
    CHECK(r.note.find("1000 bytes") != std::string::npos);
    CHECK(card.sent.size() == 4);  // 256 * 4 > 1000
    CHECK(ex.pending());           // the rest is drained before the next command

    FakeChannel silly({hex("61 10"), hex("61 10"), hex("61 10"), hex("61 10")});
    ExchangeOptions few;
    few.max_transmits = 3;
    ExchangeResult s = ApduExchanger(silly, few).exchange(ApduCommand::parse("00 CB 3F FF 00"));
    CHECK(silly.sent.size() == 3);
    CHECK(s.interrupted);
}

TEST_CASE("channel failures and answers without a status word are reported, not lost") {
    FakeChannel gone({with_sw(repeat(4, 1), 0x6104)});
    ExchangeResult r = ApduExchanger(gone).exchange(ApduCommand::parse("00 CB 3F FF 00"));
    REQUIRE(r.failure.has_value());
    CHECK(r.failure->domain() == ErrorDomain::pcsc);
    CHECK(r.transmissions.size() == 1);  // the first answer is still there for the log

    FakeChannel garbage({hex("6F")});
    ExchangeResult g = ApduExchanger(garbage).exchange(ApduCommand::parse("00 CB 3F FF 00"));
    REQUIRE(g.failure.has_value());
    CHECK(g.failure->reason().find("without a status word") != std::string::npos);
    CHECK(g.transmissions.at(0).response == hex("6F"));
}

// ISO/IEC 7816-4 11.5.6, 11.5.7, 11.5.10: VERIFY (20), CHANGE REFERENCE DATA (24) and RESET
// RETRY COUNTER (2C) carry PINs and PUKs in their data.
TEST_CASE("a command that carries a PIN is sent whole but kept as its header and Lc") {
    const Bytes verify = hex("00 20 00 80 08 31 32 33 34 35 36 FF FF");
    const Bytes change = hex("00 24 00 80 10 31 32 33 34 35 36 FF FF 36 35 34 33 32 31 FF FF");
    FakeChannel card({hex("63 C2"), hex("90 00"), hex("90 00")});
    ApduExchanger ex(card);
    ExchangeResult r = ex.exchange(ApduCommand::decode(verify));
    CHECK(card.sent[0] == verify);
    REQUIRE(r.transmissions.size() == 1);
    CHECK(r.transmissions[0].command == hex("00 20 00 80 08"));
    CHECK(r.transmissions[0].sent == verify.size());
    CHECK(r.stats.bytes_sent == verify.size());
    CHECK(r.response.sw == StatusWord::of(0x63C2));

    r = ex.exchange(ApduCommand::decode(change));
    CHECK(card.sent[1] == change);
    CHECK(r.transmissions[0].command == hex("00 24 00 80 10"));
    for (const Transmission& t : r.transmissions)
        CHECK(to_hex(t.command).find("313233") == std::string::npos);

    // The extended form keeps its three length bytes.
    r = ex.exchange(ApduCommand::make(0x00, 0x2C, 0x00, 0x80, hex("31 32 33 34 35 36 37 38"),
                                      std::nullopt, LengthForm::extended));
    CHECK(r.transmissions[0].command == hex("00 2C 00 80 00 00 08"));
    CHECK(r.transmissions[0].sent == 15);
}

TEST_CASE("a command that carries a PIN is never resent, whatever the card answers") {
    // 6Cxx asks for the command again with another Le (ISO/IEC 7816-4 5.1.3); VERIFY has
    // no response data, and each VERIFY with a PIN may count as a try.
    const Bytes verify = hex("00 20 00 80 08 31 32 33 34 35 36 FF FF");
    FakeChannel card({hex("6C 08"), hex("90 00")});
    ExchangeResult r = ApduExchanger(card).exchange(ApduCommand::decode(verify));
    CHECK(card.sent.size() == 1);
    CHECK(r.response.sw == StatusWord::of(0x6C08));
    // Another command is resent as asked.
    FakeChannel other({hex("6C 08"), hex("01 02 03 04 05 06 07 08 90 00")});
    ExchangeResult g = ApduExchanger(other).exchange(ApduCommand::parse("00 CB 3F FF 00"));
    CHECK(other.sent.size() == 2);
    CHECK(g.response.sw == StatusWord::of(0x9000));
}

TEST_CASE("an empty VERIFY and other commands are kept whole") {
    FakeChannel card({hex("63 C3"), hex("90 00")});
    ApduExchanger ex(card);
    CHECK(ex.exchange(ApduCommand::parse("00 20 00 80")).transmissions[0].command ==
          hex("00 20 00 80"));
    const Bytes select = hex("00 A4 04 00 05 A0 00 00 03 08");
    CHECK(ex.exchange(ApduCommand::decode(select)).transmissions[0].command == select);
}
