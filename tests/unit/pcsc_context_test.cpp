#include <doctest/doctest.h>

#include <string>

#include "core/pcsc/card_handle.hpp"
#include "core/pcsc/context.hpp"
#include "core/pcsc/reader.hpp"
#include "core/util/error.hpp"
#include "core/util/log.hpp"
#include "pcsc_fake.hpp"

using namespace cac;
using namespace cac::pcsc;
using namespace cac::test;

namespace {

std::vector<std::string> parsed(std::string_view text) {
    return parse_multi_string({text.data(), text.size()});
}

}  // namespace

TEST_CASE("a multi-string is read within its length, final NULs or not") {
    using namespace std::string_view_literals;
    CHECK(parsed("A 00\0B 01\0\0"sv) == std::vector<std::string>{"A 00", "B 01"});
    CHECK(parsed("A 00\0B 01"sv) == std::vector<std::string>{"A 00", "B 01"});
    CHECK(parsed("A 00\0B"sv.substr(0, 6)) == std::vector<std::string>{"A 00", "B"});
    CHECK(parsed("\0"sv).empty());
    CHECK(parsed(""sv).empty());
}

TEST_CASE("the reader list is read again when it grows between the size and the fill call") {
    FakePcsc fake;
    fake.readers = {"Virtual PCD 00 00", "Virtual PCD 00 01"};
    fake.after_list = [&](int call) {
        if (call == 0)
            fake.readers.push_back("Virtual PCD 2 00 00");
    };
    Context context(fake.api());
    CHECK(context.list_readers() == std::vector<std::string>{"Virtual PCD 00 00",
                                                             "Virtual PCD 00 01",
                                                             "Virtual PCD 2 00 00"});
    CHECK(fake.list_calls == 4);  // size, fill (too small), size, fill
}

TEST_CASE("a reader list that never settles is given up on after five tries") {
    FakePcsc fake;
    fake.readers = {"R"};
    fake.after_list = [&](int) { fake.readers.push_back(fake.readers.back() + "x"); };
    Context context(fake.api());
    try {
        (void)context.list_readers();
        FAIL("no error");
    } catch (const Error& error) {
        CHECK(error.is(ErrorDomain::pcsc, 0x80100008));
        CHECK(error.code_text() == "SCARD_E_INSUFFICIENT_BUFFER (0x80100008)");
    }
    CHECK(fake.list_calls == 10);
}

TEST_CASE("no readers is an empty list, also when the last one leaves between the two calls") {
    FakePcsc fake;
    Context context(fake.api());
    CHECK(context.list_readers().empty());
    fake.readers = {"R"};
    fake.after_list = [&](int call) {
        if (call == 1)
            fake.readers.clear();
    };
    CHECK(context.list_readers().empty());
}

TEST_CASE("pcscd not running is an error naming SCARD_E_NO_SERVICE") {
    FakePcsc fake;
    fake.establish_results = {LONG(0x8010001D)};
    try {
        Context context(fake.api());
        FAIL("no error");
    } catch (const Error& error) {
        CHECK(error.code_text() == "SCARD_E_NO_SERVICE (0x8010001d)");
        CHECK(error.message() ==
              "failed to establish a PC/SC context: pcscd is not running: "
              "SCARD_E_NO_SERVICE (0x8010001d)");
        CHECK(error.taxonomy().action == RecoveryAction::reestablish_context);
    }
}

TEST_CASE("the context is released once, also after a move") {
    FakePcsc fake;
    {
        Context first(fake.api());
        Context second(std::move(first));
    }
    CHECK(fake.released == 1);
}

// Values from pcsc-lite 1.9.9's pcsclite.h, written out here rather than taken from it.
TEST_CASE("every code pcsc-lite defines has a name and a meaning") {
    CHECK(scard_name(0) == "SCARD_S_SUCCESS");
    CHECK(scard_name(LONG(0x8010000C)) == "SCARD_E_NO_SMARTCARD");
    CHECK(scard_name(LONG(0x8010001F)) == "SCARD_E_UNSUPPORTED_FEATURE");
    CHECK(scard_name(LONG(0x8010002E)) == "SCARD_E_NO_READERS_AVAILABLE");
    CHECK(scard_name(LONG(0x80100031)) == "SCARD_E_SERVER_TOO_BUSY");
    CHECK(scard_name(LONG(0x80100068)) == "SCARD_W_RESET_CARD");
    CHECK(scard_name(LONG(0x8010006F)) == "SCARD_W_CARD_NOT_AUTHENTICATED");
    CHECK(scard_name(LONG(0x80100022)) == "SCARD_0x80100022");  // commented out in pcsclite.h
    for (unsigned code = 0x80100001; code <= 0x80100031; ++code) {
        if (code == 0x80100022)
            continue;
        CAPTURE(code);
        CHECK(scard_name(LONG(code)).rfind("SCARD_", 0) == 0);
        CHECK(scard_name(LONG(code)).find("0x") == std::string::npos);
        CHECK(!scard_meaning(LONG(code)).empty());
    }
    for (unsigned code = 0x80100065; code <= 0x8010006F; ++code) {
        CAPTURE(code);
        CHECK(scard_name(LONG(code)).rfind("SCARD_W_", 0) == 0);
    }
}

TEST_CASE("reader states come from the SCARD_STATE bits") {
    // dwEventState values recorded from pcscd 1.9.9 with vpcd, plus the sharing bits.
    CHECK(reader_state_from(0x00010022) == ReaderState::present);
    CHECK(reader_state_from(0x00000012) == ReaderState::empty);
    CHECK(reader_state_from(0x00030120) == ReaderState::in_use);
    CHECK(reader_state_from(0x000300A0) == ReaderState::exclusive);
    CHECK(reader_state_from(0x00030220) == ReaderState::mute);
    CHECK(reader_state_from(SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE) ==
          ReaderState::unavailable);
    CHECK(to_string(ReaderState::in_use) == "in_use");
}

TEST_CASE("read_readers gives each reader's state and the ATR of its card") {
    FakePcsc fake;
    fake.readers = {"Virtual PCD 00 00", "Virtual PCD 00 01"};
    Bytes atr = *parse_hex("3B8C8001636163746F6F6C2D5049563127");
    fake.steps.push_back({SCARD_S_SUCCESS,
                          {{"Virtual PCD 00 00", 0x00010022}, {"Virtual PCD 00 01", 0x00000012}},
                          {{"Virtual PCD 00 00", atr}},
                          {}});
    Context context(fake.api());
    auto readers = read_readers(context);
    REQUIRE(readers.size() == 2);
    CHECK(readers[0].state == ReaderState::present);
    CHECK(readers[0].atr == atr);
    CHECK(readers[1].state == ReaderState::empty);
    CHECK(readers[1].atr.empty());
    CHECK(fake.wait_timeouts == std::vector<DWORD>{0});
}

TEST_CASE("VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER data never reach a trace") {
    CHECK(apdu_trace_text(*parse_hex("00 20 00 80 08 31 32 33 34 35 36 FF FF")) ==
          "00200080 <masked>");
    CHECK(apdu_trace_text(*parse_hex("00 24 00 80 10 31 32 33 34 35 36 FF FF 36 35 34 33 32 31 "
                                     "FF FF")) == "00240080 <masked>");
    CHECK(apdu_trace_text(*parse_hex("00 2C 00 80 10 31 32 33 34 35 36 37 38 31 32 33 34 35 36 "
                                     "FF FF")) == "002c0080 <masked>");
    CHECK(apdu_trace_text(*parse_hex("00 20 00 80")) == "00200080");  // asks for the tries
    CHECK(apdu_trace_text(*parse_hex("00 A4 04 00 05 A0 00 00 03 08")) == "00a4040005a000000308");

    FakePcsc fake;
    fake.readers = {"R"};
    std::vector<std::string> lines;
    log::set_sink([&](std::string_view line) { lines.emplace_back(line); });
    log::set_trace(true);
    {
        Context context(fake.api());
        CardHandle card(context, "R");
        (void)card.transmit(*parse_hex("00 20 00 80 08 31 32 33 34 35 36 FF FF"));
    }
    log::set_trace(false);
    log::set_sink(nullptr);
    bool traced = false;
    for (const auto& line : lines) {
        CHECK(line.find("313233") == std::string::npos);
        traced = traced || line.find("SCardTransmit") != std::string::npos;
    }
    CHECK(traced);
}
