// The monitor against SCardGetStatusChange answers recorded from pcscd 1.9.9 with vpcd on
// the test bed (cardctl remove/insert, pcscd restart), and against the cases the bed
// cannot produce, built from the same values.
#include <doctest/doctest.h>

#include "core/pcsc/monitor.hpp"
#include "pcsc_fake.hpp"

using namespace cac;
using namespace cac::pcsc;
using namespace cac::test;
using namespace std::chrono_literals;

namespace {

const std::string r0 = "Virtual PCD 00 00";
const std::string r1 = "Virtual PCD 00 01";
const Bytes atr = *parse_hex("3B8C8001636163746F6F6C2D5049563127");

// What pcscd answered to the first call (every entry SCARD_STATE_UNAWARE) on the bed.
StatusStep bed_start() {
    return {SCARD_S_SUCCESS, {{r0, 0x00010022}, {r1, 0x00000012}}, {{r0, atr}}, {}};
}

std::vector<std::string> kinds(const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const auto& event : events)
        out.push_back(std::string(to_string(event.kind)) + " " + event.reader);
    return out;
}

DWORD current_state(const FakePcsc& fake, std::size_t call, const std::string& name) {
    for (const auto& [entry, state] : fake.waits.at(call)) {
        if (entry == name)
            return state;
    }
    return 0xFFFFFFFF;
}

}  // namespace

TEST_CASE("card events from two states") {
    std::vector<Event> events;
    card_events(r0, 0x00010020, 0x00020012, {}, events);   // recorded removal
    card_events(r0, 0x00020010, 0x00030022, atr, events);  // recorded insertion
    card_events(r0, 0x00030020, 0x00030122, atr, events);  // someone connected: no event
    REQUIRE(kinds(events) == std::vector<std::string>{"card_removed " + r0, "card_inserted " + r0});
    CHECK(events[1].atr == atr);
}

TEST_CASE("a removal and insertion between two waits is seen through the event counter") {
    FakePcsc fake;
    fake.readers = {r0, r1};
    fake.steps = {bed_start(),
                  // Recorded: remove gave 0x00040012, insert 0x00050022; here both happened
                  // before the wait began, so only the counter tells.
                  {SCARD_S_SUCCESS, {{r0, 0x00050022}}, {{r0, atr}}, {}}};
    Monitor monitor(fake.api());
    auto events = monitor.next(1s);
    CHECK(kinds(events) == std::vector<std::string>{"card_removed " + r0, "card_inserted " + r0});
    CHECK(events.back().atr == atr);
    // The full event state went back in, counter included and CHANGED dropped.
    CHECK(current_state(fake, 1, r0) == 0x00010020);
    CHECK(current_state(fake, 1, r1) == 0x00000010);
    (void)monitor.next(0ms);
    CHECK(current_state(fake, 2, r0) == 0x00050020);
}

TEST_CASE("two readers attached at once give two reader_added") {
    FakePcsc fake;
    fake.readers = {r0};
    fake.steps = {{SCARD_S_SUCCESS, {{r0, 0x00000012}}, {}, {}},
                  {SCARD_S_SUCCESS,
                   {{pnp_notification, SCARD_STATE_CHANGED}},
                   {},
                   [&] {
                       fake.readers = {r0, "Virtual PCD 2 00 00", "Virtual PCD 2 00 01"};
                   }},
                  {SCARD_S_SUCCESS,
                   {{"Virtual PCD 2 00 00", 0x00010022}, {"Virtual PCD 2 00 01", 0x00000012}},
                   {{"Virtual PCD 2 00 00", atr}},
                   {}}};
    Monitor monitor(fake.api());
    auto events = monitor.next(1s);
    CHECK(kinds(events) == std::vector<std::string>{"reader_added Virtual PCD 2 00 00",
                                                    "reader_added Virtual PCD 2 00 01",
                                                    "card_inserted Virtual PCD 2 00 00"});
}

TEST_CASE("no readers at start, then a reader arrives") {
    FakePcsc fake;  // SCardListReaders: SCARD_E_NO_READERS_AVAILABLE
    fake.steps = {{SCARD_S_SUCCESS,
                   {{pnp_notification, SCARD_STATE_CHANGED}},
                   {},
                   [&] { fake.readers = {r0}; }},
                  {SCARD_S_SUCCESS, {{r0, 0x00010022}}, {{r0, atr}}, {}}};
    Monitor monitor(fake.api());
    CHECK(monitor.readers().empty());
    auto events = monitor.next(1s);
    // The first wait watched the PnP entry alone, blocking.
    REQUIRE(fake.waits.at(0).size() == 1);
    CHECK(fake.waits[0][0].first == pnp_notification);
    CHECK(fake.wait_timeouts[0] > 0);
    CHECK(kinds(events) == std::vector<std::string>{"reader_added " + r0, "card_inserted " + r0});
    REQUIRE(monitor.readers().size() == 1);
    CHECK(monitor.readers()[0].state == ReaderState::present);
}

TEST_CASE("the PnP entry's event state is fed back too") {
    FakePcsc fake;
    fake.readers = {r0};
    // Newer pcsc-lite keeps a reader-event count in the PnP entry's high 16 bits.
    fake.steps = {{SCARD_S_SUCCESS, {{r0, 0x00000012}, {pnp_notification, 0x00030000}}, {}, {}},
                  {SCARD_S_SUCCESS, {{pnp_notification, 0x00040002}}, {}, {}}};
    Monitor monitor(fake.api());
    (void)monitor.next(0ms);
    CHECK(current_state(fake, 1, pnp_notification) == 0x00030000);
    (void)monitor.next(0ms);
    CHECK(current_state(fake, 2, pnp_notification) == 0x00040000);
}

TEST_CASE("a reader that left before the wait began is reported removed with its card") {
    FakePcsc fake;
    fake.readers = {r0, r1};
    fake.steps = {bed_start(), {LONG(0x80100009), {}, {}, [&] { fake.readers = {r1}; }}};
    Monitor monitor(fake.api());
    // The list is compared before waiting, so remove the reader only once the wait runs.
    auto events = monitor.next(1s);
    CHECK(kinds(events) == std::vector<std::string>{"card_removed " + r0, "reader_removed " + r0});
}

TEST_CASE("pcscd going away and coming back") {
    FakePcsc fake;
    fake.readers = {r0, r1};
    fake.steps = {bed_start(),
                  // Recorded: the blocked wait returned SCARD_F_COMM_ERROR when pcscd stopped.
                  {LONG(0x80100013), {}, {}, {}},
                  // The restarted pcscd first shows both readers empty, counters at zero...
                  {SCARD_S_SUCCESS, {{r0, 0x00000012}, {r1, 0x00000012}}, {}, {}},
                  // ... and the card about 200 ms later.
                  {SCARD_S_SUCCESS, {{r0, 0x00010022}}, {{r0, atr}}, {}}};
    Monitor monitor(fake.api(), {1ms, 4ms});
    CHECK(kinds(monitor.next(1s)) == std::vector<std::string>{"service_lost "});
    CHECK_FALSE(monitor.service_available());
    CHECK(monitor.readers().empty());

    // Recorded: new contexts fail with SCARD_E_NO_SERVICE until pcscd is back.
    fake.establish_results = {LONG(0x8010001D), LONG(0x8010001D), SCARD_S_SUCCESS};
    auto restored = monitor.next(5s);
    CHECK(kinds(restored) == std::vector<std::string>{"service_restored ", "reader_added " + r0,
                                                      "reader_added " + r1});
    CHECK(fake.established == 2);
    CHECK(fake.released == 1);
    CHECK(kinds(monitor.next(1s)) == std::vector<std::string>{"card_inserted " + r0});
}

TEST_CASE("while pcscd stays away, a wait ends at its timeout") {
    FakePcsc fake;
    fake.readers = {r0};
    fake.steps = {{SCARD_S_SUCCESS, {{r0, 0x00000012}}, {}, {}}, {LONG(0x8010001D), {}, {}, {}}};
    Monitor monitor(fake.api(), {1ms, 2ms});
    CHECK(kinds(monitor.next(1s)) == std::vector<std::string>{"service_lost "});
    fake.establish_results.assign(1000, LONG(0x8010001D));
    CHECK(monitor.next(30ms).empty());
    CHECK(fake.established == 1);
}

TEST_CASE("no change within the timeout gives no events") {
    FakePcsc fake;
    fake.readers = {r0, r1};
    fake.steps = {bed_start()};  // then SCARD_E_TIMEOUT
    Monitor monitor(fake.api());
    CHECK(monitor.next(20ms).empty());
    CHECK(fake.waits.size() >= 2);
}

TEST_CASE("cancel makes the next wait return at once") {
    FakePcsc fake;
    fake.readers = {r0, r1};
    fake.steps = {bed_start(), {SCARD_S_SUCCESS, {{r0, 0x00020012}}, {}, {}}};
    Monitor monitor(fake.api());
    monitor.cancel();
    CHECK(fake.cancels == 1);
    CHECK(monitor.next(Monitor::forever).empty());
    CHECK(fake.waits.size() == 1);  // only the constructor's
    CHECK(kinds(monitor.next(1s)) == std::vector<std::string>{"card_removed " + r0});
}

TEST_CASE("a cancel that comes while next() reads the reader list stops it before the wait") {
    FakePcsc fake;
    fake.readers = {r0, r1};
    fake.steps = {bed_start(), {SCARD_S_SUCCESS, {{r0, 0x00020012}}, {}, {}}};
    Monitor monitor(fake.api());
    int lists_before = fake.list_calls;
    // next() lists the readers before it waits; the cancel lands in between, where
    // pcsc-lite's SCardCancel would have nothing to cancel.
    fake.after_list = [&](int call) {
        if (call == lists_before)
            monitor.cancel();
    };
    CHECK(monitor.next(Monitor::forever).empty());
    CHECK(fake.waits.size() == 1);  // only the constructor's
}
