// The recovery policy with a recoverer that records what it was asked to do. The codes
// are real ones, so what the policy does for each follows from the taxonomy's recovery
// action: SCARD_W_RESET_CARD reconnects, CKR_DEVICE_REMOVED reopens the session,
// CKR_PIN_INCORRECT needs the user and is never repeated.
#include <doctest/doctest.h>
#include <p11-kit/pkcs11.h>
#include <winscard.h>

#include <optional>
#include <set>
#include <vector>

#include "core/recovery/policy.hpp"

using namespace cac;
using namespace std::chrono_literals;

namespace {

struct Attempt {
    std::string code;
    RecoveryAction action;
    int attempt;
    Outcome outcome;
};

struct Recorder : RecoveryObserver {
    std::vector<Attempt> attempts;
    void attempted(const Error& error, RecoveryAction action, int attempt, Outcome outcome,
                   std::chrono::milliseconds) override {
        attempts.push_back({code_name(error.domain(), error.code()), action, attempt, outcome});
    }
};

struct FakeRecoverer : Recoverer {
    std::set<RecoveryAction> known = {
        RecoveryAction::retry, RecoveryAction::reconnect, RecoveryAction::reopen_session,
        RecoveryAction::reestablish_context, RecoveryAction::reinitialize_module};
    std::vector<RecoveryAction> done;
    std::vector<Error> failures;  // thrown by the next recover() calls, in order

    bool can(RecoveryAction action) const override { return known.count(action) > 0; }
    void recover(RecoveryAction action, const Error&,
                 std::chrono::steady_clock::time_point) override {
        done.push_back(action);
        if (!failures.empty()) {
            Error next = failures.front();
            failures.erase(failures.begin());
            throw next;
        }
    }
};

Error pcsc(LONG rv) {
    return Error(ErrorDomain::pcsc, std::uint32_t(rv), "SCardTransmit");
}
Error p11(CK_RV rv) {
    return Error(ErrorDomain::pkcs11, std::uint32_t(rv), "C_GetAttributeValue");
}

struct Bench {
    Recorder recorder;
    FakeRecoverer recoverer;
    std::vector<std::chrono::milliseconds> slept;
    RecoveryPolicy policy;

    explicit Bench(RecoveryLimits limits = {}) : policy(limits, &recorder) {
        policy.set_sleeper([this](std::chrono::milliseconds d) { slept.push_back(d); });
        policy.set_jitter([](std::chrono::milliseconds d) { return d; });
    }
};

// Runs `fails` failures of `error`, then succeeds with 42.
auto failing(int fails, const Error& error, int& calls) {
    return [fails, error, &calls] {
        if (calls++ < fails)
            throw error;
        return 42;
    };
}

// The error the policy gives up with, running an operation that fails `fails` times with
// `error`; nullopt when the operation ends up succeeding.
std::optional<Error> given_up(Bench& bench, int fails, const Error& error, int& calls) {
    try {
        (void)bench.policy.run(Repeatable::yes, bench.recoverer, failing(fails, error, calls));
    } catch (const Error& e) {
        return e;
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("a reset card is reconnected and the read runs again") {
    Bench bench;
    int calls = 0;
    int got = bench.policy.run(Repeatable::yes, bench.recoverer,
                               failing(1, pcsc(SCARD_W_RESET_CARD), calls));
    CHECK(got == 42);
    CHECK(calls == 2);
    CHECK(bench.recoverer.done == std::vector{RecoveryAction::reconnect});
    REQUIRE(bench.recorder.attempts.size() == 1);
    CHECK(bench.recorder.attempts[0].code == "SCARD_W_RESET_CARD");
    CHECK(bench.recorder.attempts[0].attempt == 1);
    CHECK(bench.recorder.attempts[0].outcome == Outcome::recovered);
}

TEST_CASE("the card removed mid-read: reconnecting waits for it, then the read completes") {
    Bench bench;
    int calls = 0;
    CHECK(bench.policy.run(Repeatable::yes, bench.recoverer,
                           failing(1, pcsc(SCARD_W_REMOVED_CARD), calls)) == 42);
    CHECK(bench.recoverer.done == std::vector{RecoveryAction::reconnect});
}

TEST_CASE("a removed token's session is reopened, and pcscd gone gets a new context") {
    Bench bench;
    int calls = 0;
    CHECK(bench.policy.run(Repeatable::yes, bench.recoverer,
                           failing(1, p11(CKR_DEVICE_REMOVED), calls)) == 42);
    calls = 0;
    CHECK(bench.policy.run(Repeatable::yes, bench.recoverer,
                           failing(1, pcsc(SCARD_E_NO_SERVICE), calls)) == 42);
    calls = 0;
    CHECK(bench.policy.run(Repeatable::yes, bench.recoverer,
                           failing(1, p11(CKR_CRYPTOKI_NOT_INITIALIZED), calls)) == 42);
    CHECK(bench.recoverer.done == std::vector{RecoveryAction::reopen_session,
                                              RecoveryAction::reestablish_context,
                                              RecoveryAction::reinitialize_module});
}

TEST_CASE("a wrong PIN is never repeated") {
    Bench bench;
    int calls = 0;
    auto error = given_up(bench, 5, p11(CKR_PIN_INCORRECT), calls);
    REQUIRE(error);
    CHECK(error->is(ErrorDomain::pkcs11, CKR_PIN_INCORRECT));
    CHECK(error->recovery().attempts == 0);
    CHECK(calls == 1);
    CHECK(bench.recoverer.done.empty());
    CHECK(bench.recorder.attempts.empty());
}

TEST_CASE("an operation that changes the card is not repeated even after a reset") {
    Bench bench;
    int calls = 0;
    CHECK_THROWS_AS(bench.policy.run(Repeatable::no, bench.recoverer,
                                     failing(1, pcsc(SCARD_W_RESET_CARD), calls)),
                    Error);
    CHECK(calls == 1);
    CHECK(bench.recoverer.done.empty());
}

TEST_CASE("an action the caller cannot take leaves the error as it was") {
    Bench bench;
    bench.recoverer.known = {RecoveryAction::reopen_session};
    int calls = 0;
    CHECK_THROWS_AS(bench.policy.run(Repeatable::yes, bench.recoverer,
                                     failing(1, pcsc(SCARD_W_RESET_CARD), calls)),
                    Error);
    CHECK(calls == 1);
}

TEST_CASE("attempts are bounded, each recorded, and the error says how many were made") {
    RecoveryLimits limits;
    limits.max_attempts = 3;
    limits.base_delay = 100ms;
    limits.max_delay = 250ms;
    Bench bench(limits);
    int calls = 0;
    auto error = given_up(bench, 100, pcsc(SCARD_W_RESET_CARD), calls);
    REQUIRE(error);
    CHECK(error->recovery().attempts == 3);
    CHECK(error->recovery().action_worked);
    CHECK(calls == 4);  // the first run and three more
    // Doubling from the base delay, capped.
    CHECK(bench.slept == std::vector<std::chrono::milliseconds>{100ms, 200ms, 250ms});
    REQUIRE(bench.recorder.attempts.size() == 3);
    for (int i = 0; i < 3; ++i) {
        CHECK(bench.recorder.attempts[i].attempt == i + 1);
        CHECK(bench.recorder.attempts[i].outcome == Outcome::failed);
    }
}

TEST_CASE("a recovery action that fails counts as an attempt, and its error is the next one") {
    Bench bench;
    // The reconnect finds no card; the card comes back for the second try.
    bench.recoverer.failures = {pcsc(SCARD_W_REMOVED_CARD)};
    int calls = 0;
    CHECK(bench.policy.run(Repeatable::yes, bench.recoverer,
                           failing(1, pcsc(SCARD_W_RESET_CARD), calls)) == 42);
    REQUIRE(bench.recorder.attempts.size() == 2);
    CHECK(bench.recorder.attempts[0].code == "SCARD_W_RESET_CARD");
    CHECK(bench.recorder.attempts[0].outcome == Outcome::failed);
    CHECK(bench.recorder.attempts[1].code == "SCARD_W_REMOVED_CARD");
    CHECK(bench.recorder.attempts[1].outcome == Outcome::recovered);
}

TEST_CASE("no attempt starts when its delay would end past the deadline") {
    RecoveryLimits limits;
    limits.deadline = std::chrono::steady_clock::now() + 50ms;
    limits.base_delay = 100ms;
    Bench bench(limits);
    int calls = 0;
    auto error = given_up(bench, 1, pcsc(SCARD_W_RESET_CARD), calls);
    REQUIRE(error);
    CHECK(error->recovery().attempts == 0);
    CHECK(bench.slept.empty());
}

TEST_CASE("limits come from the config's retry policy and the timeout") {
    RetryPolicy retry;
    retry.max_attempts = 5;
    retry.base_delay_ms = 50;
    retry.max_delay_ms = 10;  // below the base: the base wins
    auto before = std::chrono::steady_clock::now();
    RecoveryLimits limits = RecoveryLimits::from(retry, 2.0);
    CHECK(limits.max_attempts == 5);
    CHECK(limits.base_delay == 50ms);
    CHECK(limits.max_delay == 50ms);
    CHECK(limits.deadline >= before + 2s);
    CHECK(limits.deadline <= std::chrono::steady_clock::now() + 2s);
    CHECK(RecoveryLimits::from(retry, std::nullopt).deadline ==
          std::chrono::steady_clock::time_point::max());
}

TEST_CASE("the default jitter waits between half the delay and all of it") {
    RecoveryLimits limits;
    limits.base_delay = 200ms;
    Bench bench(limits);
    RecoveryPolicy policy(limits);
    std::vector<std::chrono::milliseconds> slept;
    policy.set_sleeper([&](std::chrono::milliseconds d) { slept.push_back(d); });
    FakeRecoverer recoverer;
    for (int i = 0; i < 50; ++i) {
        int calls = 0;
        CHECK(policy.run(Repeatable::yes, recoverer, failing(1, pcsc(SCARD_W_RESET_CARD), calls)) ==
              42);
    }
    REQUIRE(slept.size() == 50);
    std::set<long> distinct;
    for (auto d : slept) {
        CHECK(d >= 100ms);
        CHECK(d <= 200ms);
        distinct.insert(long(d.count()));
    }
    CHECK(distinct.size() > 1);
}
