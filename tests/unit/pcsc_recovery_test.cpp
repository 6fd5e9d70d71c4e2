// Recovering a card over PC/SC, against the fake pcsc-lite: the answers each test scripts
// are the ones pcscd gives when a card is reset by another application, pulled out and
// put back, swapped for another, or when pcscd itself goes away.
#include <doctest/doctest.h>

#include <deque>
#include <thread>

#include "core/recovery/pcsc_recovery.hpp"
#include "pcsc_fake.hpp"

using namespace cac;
using namespace cac::test;
using namespace std::chrono_literals;

namespace {

const std::string reader = "Virtual PCD 00 00";
const Bytes card_atr = {0x3B, 0x8C, 0x80, 0x01, 0x63, 0x61, 0x63};
const Bytes other_atr = {0x3B, 0x8C, 0x80, 0x01, 0x6F, 0x74, 0x68};
const Bytes get_data = {0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x05, 0x00};

constexpr DWORD present = SCARD_STATE_PRESENT | SCARD_STATE_CHANGED;
constexpr DWORD empty = SCARD_STATE_EMPTY | SCARD_STATE_CHANGED;

struct Attempt {
    std::string code;
    RecoveryAction action;
    Outcome outcome;
};

struct Recorder : RecoveryObserver {
    std::vector<Attempt> attempts;
    void attempted(const Error& error, RecoveryAction action, int, Outcome outcome,
                   std::chrono::milliseconds) override {
        attempts.push_back({code_name(error.domain(), error.code()), action, outcome});
    }
};

// The policy made exactly one attempt, for `code`, with this outcome.
void check_one_attempt(const Recorder& recorder, const std::string& code, RecoveryAction action,
                       Outcome outcome) {
    REQUIRE(recorder.attempts.size() == 1);
    CHECK(recorder.attempts[0].code == code);
    CHECK(recorder.attempts[0].action == action);
    CHECK(recorder.attempts[0].outcome == outcome);
}

StatusStep reader_is(DWORD state, Bytes atr = {}) {
    StatusStep step;
    step.events[reader] = state;
    if (!atr.empty())
        step.atrs[reader] = atr;
    return step;
}

// A fake with the card in the reader, a recoverer connected to it whose re-enter and
// identity steps are counted, and a policy that neither sleeps nor draws at random. The
// card has answered one command (the start-up's) unless `started` is false.
struct Bench {
    FakePcsc fake;
    Recorder recorder;
    std::optional<PcscRecoverer> recoverer;
    std::optional<RecoveryPolicy> policy;
    int reentered = 0;
    std::deque<LONG> reenter_failures;  // thrown by the next re-enter steps, as transmit would
    int identified = 0;
    Bytes identity = {0x30, 0x19};
    std::vector<std::chrono::milliseconds> paused;

    explicit Bench(std::chrono::milliseconds timeout = 5s, bool started = true) {
        fake.readers = {reader};
        fake.atr = card_atr;
        fake.response = {0x53, 0x00, 0x90, 0x00};
        recoverer.emplace(pcsc::Context(fake.api()), reader);
        recoverer->set_reenter([this] {
            ++reentered;
            if (!reenter_failures.empty()) {
                LONG rv = reenter_failures.front();
                reenter_failures.pop_front();
                throw Error(ErrorDomain::pcsc, std::uint32_t(rv), "transmit to the card");
            }
        });
        recoverer->set_identity(
            [this] {
                ++identified;
                return identity;
            },
            Bytes{0x30, 0x19});
        recoverer->set_sleeper(
            [this](std::chrono::milliseconds pause) { paused.push_back(pause); });
        RecoveryLimits limits;
        limits.base_delay = 0ms;
        limits.deadline = std::chrono::steady_clock::now() + timeout;
        policy.emplace(limits, &recorder);
        policy->set_sleeper([](std::chrono::milliseconds) {});
        policy->set_jitter([](std::chrono::milliseconds delay) { return delay; });
        if (started) {
            (void)recoverer->channel().transmit(get_data);
            fake.sent.clear();
        }
    }

    // What the recovery took to come back: connections made (the first one included),
    // re-enter steps run, identity checks made.
    void check_steps(int connects, int reenters, int identities) const {
        CHECK(fake.connects == connects);
        CHECK(reentered == reenters);
        CHECK(identified == identities);
    }

    Bytes read() {
        return policy->run(Repeatable::yes, *recoverer,
                           [this] { return recoverer->channel().transmit(get_data); });
    }
};

}  // namespace

TEST_CASE("a card reset by another application is reconnected in place and re-entered") {
    Bench bench;
    bench.fake.transmit_results = {SCARD_W_RESET_CARD};
    CHECK(bench.read() == Bytes{0x53, 0x00, 0x90, 0x00});
    // The same handle, reconnected leaving the card as it is (a second reset would only
    // lose more), and no new connection.
    CHECK(bench.fake.reconnects == std::vector<DWORD>{SCARD_LEAVE_CARD});
    bench.check_steps(1, 1, 0);
    check_one_attempt(bench.recorder, "SCARD_W_RESET_CARD", RecoveryAction::reconnect,
                      Outcome::recovered);
    CHECK(bench.fake.sent.size() == 2);
}

TEST_CASE("a card pulled out and put back is waited for, checked and read on") {
    Bench bench;
    bench.fake.transmit_results = {SCARD_W_REMOVED_CARD};
    bench.fake.steps = {reader_is(empty), reader_is(present | 0x10000, card_atr)};
    CHECK(bench.read() == Bytes{0x53, 0x00, 0x90, 0x00});
    bench.check_steps(2, 1, 1);
    CHECK(bench.fake.reconnects.empty());
    // The second wait blocks on the empty state the first one saw: no polling.
    REQUIRE(bench.fake.waits.size() == 2);
    CHECK(bench.fake.waits[0] ==
          std::vector<std::pair<std::string, DWORD>>{{reader, SCARD_STATE_UNAWARE}});
    CHECK(bench.fake.waits[1] ==
          std::vector<std::pair<std::string, DWORD>>{{reader, SCARD_STATE_EMPTY}});
    // Bounded by the deadline, not INFINITE.
    REQUIRE(bench.fake.wait_timeouts.size() == 2);
    CHECK(bench.fake.wait_timeouts[1] <= 5000);
    check_one_attempt(bench.recorder, "SCARD_W_REMOVED_CARD", RecoveryAction::reconnect,
                      Outcome::recovered);
}

TEST_CASE("SCARD_E_NO_SMARTCARD in the middle of a command is waited out like a removal") {
    Bench bench;
    bench.fake.transmit_results = {SCARD_E_NO_SMARTCARD};
    bench.fake.steps = {reader_is(present, card_atr)};
    CHECK(bench.read() == Bytes{0x53, 0x00, 0x90, 0x00});
    CHECK(bench.fake.connects == 2);
    check_one_attempt(bench.recorder, "SCARD_E_NO_SMARTCARD", RecoveryAction::reconnect,
                      Outcome::recovered);
}

TEST_CASE("a card gone again between the wait and the connect is waited for once more") {
    Bench bench;
    bench.fake.transmit_results = {SCARD_W_REMOVED_CARD};
    bench.fake.connect_results = {SCARD_E_NO_SMARTCARD};
    bench.fake.steps = {reader_is(present, card_atr), reader_is(present | 0x20000, card_atr)};
    CHECK(bench.read() == Bytes{0x53, 0x00, 0x90, 0x00});
    REQUIRE(bench.fake.waits.size() == 2);
    CHECK(bench.fake.waits[1] ==
          std::vector<std::pair<std::string, DWORD>>{{reader, SCARD_STATE_PRESENT}});
    CHECK(bench.recorder.attempts.size() == 1);
}

TEST_CASE("a card pcscd still shows present after it went is waited for in the same attempt") {
    // pcscd notices a pulled card only at its next look at the reader: the first connect
    // succeeds, and the SELECT fails in the driver.
    Bench bench;
    bench.fake.transmit_results = {SCARD_W_REMOVED_CARD};
    bench.reenter_failures = {SCARD_E_NOT_TRANSACTED};
    bench.fake.steps = {reader_is(present, card_atr), reader_is(empty | 0x10000),
                        reader_is(present | 0x20000, card_atr)};
    CHECK(bench.read() == Bytes{0x53, 0x00, 0x90, 0x00});
    CHECK(bench.fake.connects == 3);
    CHECK(bench.reentered == 2);
    REQUIRE(bench.fake.waits.size() == 3);
    CHECK(bench.fake.waits[1] ==
          std::vector<std::pair<std::string, DWORD>>{{reader, SCARD_STATE_PRESENT}});
    check_one_attempt(bench.recorder, "SCARD_W_REMOVED_CARD", RecoveryAction::reconnect,
                      Outcome::recovered);
}

TEST_CASE("a card pulled and put back between two of pcscd's looks is tried again unseen") {
    // pcscd shows the card present throughout: it looked neither while the card was out
    // nor since. The first connect's SELECT fails in the driver, and no change of state
    // ever comes; after a short wait the card is connected again, and answers.
    Bench bench;
    bench.fake.transmit_results = {SCARD_W_REMOVED_CARD};
    bench.reenter_failures = {SCARD_E_NOT_TRANSACTED};
    bench.fake.steps = {reader_is(present, card_atr)};  // then SCARD_E_TIMEOUT: no change
    CHECK(bench.read() == Bytes{0x53, 0x00, 0x90, 0x00});
    bench.check_steps(3, 2, 1);
    REQUIRE(bench.fake.wait_timeouts.size() == 2);
    CHECK(bench.fake.wait_timeouts[1] <= 1000);  // a short look, not the whole time left
    check_one_attempt(bench.recorder, "SCARD_W_REMOVED_CARD", RecoveryAction::reconnect,
                      Outcome::recovered);
}

TEST_CASE("an answer lost on the way: the card is checked and entered again, then read") {
    Bench bench;
    bench.fake.transmit_results = {SCARD_E_COMM_DATA_LOST};
    CHECK(bench.read() == Bytes{0x53, 0x00, 0x90, 0x00});
    bench.check_steps(1, 1, 1);
    check_one_attempt(bench.recorder, "SCARD_E_COMM_DATA_LOST", RecoveryAction::retry,
                      Outcome::recovered);
}

TEST_CASE("an answer lost while another card was swapped in unseen: the identity tells") {
    Bench bench;
    bench.fake.transmit_results = {SCARD_E_COMM_DATA_LOST};
    bench.identity = {0x30, 0x18};
    try {
        (void)bench.read();
        FAIL("read another card");
    } catch (const Error& e) {
        CHECK(e.is(CoreCode::card_changed));
    }
    CHECK(bench.fake.sent.size() == 1);
}

TEST_CASE("another card in the reader ends the recovery: its ATR differs") {
    Bench bench;
    bench.fake.transmit_results = {SCARD_W_REMOVED_CARD};
    StatusStep swapped = reader_is(present, other_atr);
    swapped.before = [&] { bench.fake.atr = other_atr; };
    bench.fake.steps = {swapped};
    try {
        (void)bench.read();
        FAIL("read another card");
    } catch (const Error& e) {
        CHECK(e.is(CoreCode::card_changed));
        CHECK(e.recovery().attempts == 1);
        CHECK(e.message().find("another ATR") != std::string::npos);
    }
    // Nothing was sent to the other card: not even the re-enter step.
    CHECK(bench.fake.sent.size() == 1);
    CHECK(bench.reentered == 0);
    check_one_attempt(bench.recorder, "SCARD_W_REMOVED_CARD", RecoveryAction::reconnect,
                      Outcome::failed);
}

TEST_CASE("another card with the same ATR is told apart by the caller's identity") {
    Bench bench;
    bench.fake.transmit_results = {SCARD_W_REMOVED_CARD};
    bench.fake.steps = {reader_is(present, card_atr)};
    bench.identity = {0x30, 0x18};
    try {
        (void)bench.read();
        FAIL("read another card");
    } catch (const Error& e) {
        CHECK(e.is(CoreCode::card_changed));
        CHECK(e.message().find("another identity") != std::string::npos);
    }
    CHECK(bench.identified == 1);
    CHECK(bench.fake.sent.size() == 1);
}

TEST_CASE("a card that stays out past the deadline fails the attempt and ends recovery") {
    Bench bench(30ms);
    bench.fake.transmit_results = {SCARD_W_REMOVED_CARD};
    StatusStep timed_out;
    timed_out.before = [] { std::this_thread::sleep_for(40ms); };
    timed_out.rv = SCARD_E_TIMEOUT;
    bench.fake.steps = {reader_is(empty), timed_out};
    try {
        (void)bench.read();
        FAIL("read without a card");
    } catch (const Error& e) {
        CHECK(e.is(ErrorDomain::pcsc, std::uint32_t(SCARD_E_NO_SMARTCARD)));
        CHECK(e.recovery().attempts == 1);
        CHECK(e.context().reader == reader);
    }
    REQUIRE(bench.fake.wait_timeouts.size() == 2);
    CHECK(bench.fake.wait_timeouts[1] <= 30);
    check_one_attempt(bench.recorder, "SCARD_W_REMOVED_CARD", RecoveryAction::reconnect,
                      Outcome::failed);
}

TEST_CASE("pcscd gone: a new context once it answers, then the card again") {
    Bench bench;
    bench.fake.transmit_results = {SCARD_E_NO_SERVICE};
    bench.fake.establish_results = {SCARD_E_NO_SERVICE, SCARD_E_NO_SERVICE};
    bench.fake.steps = {reader_is(present, card_atr)};
    CHECK(bench.read() == Bytes{0x53, 0x00, 0x90, 0x00});
    CHECK(bench.paused == std::vector<std::chrono::milliseconds>{100ms, 200ms});
    CHECK(bench.fake.established == 2);  // the first context and the new one
    CHECK(bench.fake.released == 1);
    bench.check_steps(2, 1, 1);
    check_one_attempt(bench.recorder, "SCARD_E_NO_SERVICE", RecoveryAction::reestablish_context,
                      Outcome::recovered);
}

TEST_CASE("a restarted pcscd without the reader yet: the reader list is waited for") {
    Bench bench;
    bench.fake.transmit_results = {SCARD_E_SERVICE_STOPPED};
    StatusStep unknown;
    unknown.rv = SCARD_E_UNKNOWN_READER;
    StatusStep reader_back;  // the PnP wait wakes up: the reader is there
    reader_back.before = [&] { bench.fake.readers = {reader}; };
    reader_back.events[pnp_notification] = SCARD_STATE_CHANGED | 0x10000;
    unknown.before = [&] { bench.fake.readers.clear(); };
    bench.fake.steps = {unknown, reader_back, reader_is(present, card_atr)};
    CHECK(bench.read() == Bytes{0x53, 0x00, 0x90, 0x00});
    REQUIRE(bench.fake.waits.size() == 3);
    CHECK(bench.fake.waits[1] ==
          std::vector<std::pair<std::string, DWORD>>{{pnp_notification, SCARD_STATE_UNAWARE}});
    REQUIRE(bench.fake.wait_timeouts.size() == 3);
    CHECK(bench.fake.wait_timeouts[1] <= 1000);
    CHECK(bench.fake.connects == 2);
}

TEST_CASE("an empty reader at the start is an error at once, not a wait") {
    FakePcsc fake;
    fake.readers = {reader};
    fake.connect_rv = SCARD_E_NO_SMARTCARD;
    CHECK_THROWS_AS(PcscRecoverer(pcsc::Context(fake.api()), reader), Error);
    CHECK(fake.waits.empty());
}

TEST_CASE("a card that went before it answered anything is an empty reader, not waited for") {
    // pcscd has not looked at the reader since the card was pulled: the connect worked, and
    // the first command fails in the driver, fails as removed, or comes back empty.
    for (LONG rv : {SCARD_E_NOT_TRANSACTED, SCARD_W_REMOVED_CARD, SCARD_S_SUCCESS}) {
        CAPTURE(rv);
        Bench bench(5s, false);
        if (rv == SCARD_S_SUCCESS)
            bench.fake.response = {};
        else
            bench.fake.transmit_results = {rv};
        try {
            (void)bench.read();
            FAIL("read without a card");
        } catch (const Error& e) {
            CHECK(e.is(ErrorDomain::pcsc, std::uint32_t(SCARD_E_NO_SMARTCARD)));
            CHECK(e.recovery().attempts == 0);
            REQUIRE(e.cause() != nullptr);
        }
        CHECK(bench.fake.waits.empty());
        CHECK(bench.recorder.attempts.empty());
        CHECK(bench.fake.connects == 1);
    }
}

TEST_CASE("before the first answer, a reset or a lost answer is still recovered") {
    // One fake pcsc-lite at a time: a bench per pass.
    for (auto [rv, action] : {std::pair{SCARD_W_RESET_CARD, RecoveryAction::reconnect},
                              std::pair{SCARD_E_COMM_DATA_LOST, RecoveryAction::retry}}) {
        Bench bench(5s, false);
        bench.fake.transmit_results = {rv};
        CHECK(bench.read() == Bytes{0x53, 0x00, 0x90, 0x00});
        check_one_attempt(bench.recorder, code_name(ErrorDomain::pcsc, std::uint32_t(rv)), action,
                          Outcome::recovered);
    }
}

TEST_CASE("once the card has answered, the same failures are waited out") {
    Bench bench;
    bench.fake.transmit_results = {SCARD_E_NOT_TRANSACTED};
    bench.fake.steps = {reader_is(present, card_atr)};
    CHECK(bench.read() == Bytes{0x53, 0x00, 0x90, 0x00});
    check_one_attempt(bench.recorder, "SCARD_E_NOT_TRANSACTED", RecoveryAction::reconnect,
                      Outcome::recovered);
}

// A read whose first run the card refuses with `sw`, as a command that raced another
// program's reset gets 6D00 from the reset card instead of SCARD_W_RESET_CARD.
Bytes read_refused_once(Bench& bench, std::uint16_t sw) {
    bool refused = false;
    return bench.policy->run(Repeatable::yes, *bench.recoverer, [&] {
        Bytes answer = bench.recoverer->channel().transmit(get_data);
        if (!refused) {
            refused = true;
            throw Error(ErrorDomain::status_word, sw, "read the object");
        }
        return answer;
    });
}

TEST_CASE("a refusal after another program's reset is recovered as that reset") {
    Bench bench;
    bench.fake.begin_results = {SCARD_W_RESET_CARD};
    CHECK(read_refused_once(bench, 0x6D00) == Bytes{0x53, 0x00, 0x90, 0x00});
    CHECK(bench.fake.begin_results.empty());  // pcscd was asked
    CHECK(bench.fake.reconnects == std::vector<DWORD>{SCARD_LEAVE_CARD});
    CHECK(bench.reentered == 1);
    check_one_attempt(bench.recorder, "SCARD_W_RESET_CARD", RecoveryAction::reconnect,
                      Outcome::recovered);
}

TEST_CASE("a refusal pcscd knows no reason for is the card's answer, not recovered") {
    Bench bench;
    try {
        (void)read_refused_once(bench, 0x6985);
        FAIL("the refusal was hidden");
    } catch (const Error& e) {
        CHECK(e.is(ErrorDomain::status_word, 0x6985));
        CHECK(e.recovery().attempts == 0);
    }
    CHECK(bench.fake.transactions_begun == 1);
    CHECK(bench.fake.reconnects.empty());
    CHECK(bench.recorder.attempts.empty());
}

TEST_CASE("confirm_card says what pcscd has not told the handle yet, and nothing else") {
    Bench bench;
    bench.recoverer->confirm_card();
    CHECK(bench.fake.transactions_begun == 1);
    CHECK(bench.fake.transaction_ends == std::vector<DWORD>{SCARD_LEAVE_CARD});
    bench.fake.begin_results = {SCARD_W_RESET_CARD};
    try {
        bench.recoverer->confirm_card();
        FAIL("no reset reported");
    } catch (const Error& e) {
        CHECK(e.is(ErrorDomain::pcsc, std::uint32_t(SCARD_W_RESET_CARD)));
        CHECK(e.taxonomy().action == RecoveryAction::reconnect);
    }
    CHECK(bench.fake.transaction_ends.size() == 1);
}

TEST_CASE("the PC/SC recoverer takes the PC/SC actions and no other") {
    Bench bench;
    CHECK(bench.recoverer->can(RecoveryAction::retry));
    CHECK(bench.recoverer->can(RecoveryAction::reconnect));
    CHECK(bench.recoverer->can(RecoveryAction::reestablish_context));
    CHECK_FALSE(bench.recoverer->can(RecoveryAction::reopen_session));
    CHECK_FALSE(bench.recoverer->can(RecoveryAction::reinitialize_module));
    CHECK_FALSE(bench.recoverer->can(RecoveryAction::user_action));
}
