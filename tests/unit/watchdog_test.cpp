// The watchdog acts once the budget is used, and not before: time waiting for a person
// does not count, and work that must finish is waited for. Every check here is of the
// kind a slow machine can only delay, never make fail: "not yet" is checked while the
// watchdog is held back for sure, "fired" with a generous wait.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/util/in_flight.hpp"
#include "core/util/watchdog.hpp"

namespace cac {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Catches the expiry the watchdog reports from its own thread.
class Catcher {
  public:
    Watchdog::OnExpiry callback() {
        return [this](const Watchdog::Expiry& expiry) {
            std::lock_guard lock(mutex_);
            expiry_ = expiry;
            at_ = Clock::now();
            changed_.notify_all();
        };
    }
    // The expiry, waiting at most `limit` for it.
    std::optional<Watchdog::Expiry> wait(Clock::duration limit = 10s) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, limit, [this] { return expiry_.has_value(); });
        return expiry_;
    }
    bool fired() {
        std::lock_guard lock(mutex_);
        return expiry_.has_value();
    }
    Clock::time_point at() {
        std::lock_guard lock(mutex_);
        return at_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::optional<Watchdog::Expiry> expiry_;
    Clock::time_point at_;
};

}  // namespace

TEST_CASE("the watchdog reports once the budget is used, naming the call in flight") {
    Catcher catcher;
    Clock::time_point start = Clock::now();
    in_flight::entered("C_FindObjects");
    Watchdog watchdog(50ms, catcher.callback());
    std::optional<Watchdog::Expiry> expiry = catcher.wait();
    in_flight::left();
    REQUIRE(expiry);
    CHECK(catcher.at() - start >= 50ms);
    CHECK(expiry->budget == 50ms);
    REQUIRE(expiry->call != nullptr);
    CHECK(std::string(expiry->call) == "C_FindObjects");
    CHECK_FALSE(expiry->verification_unfinished);
}

TEST_CASE("a watchdog stopped within its budget never reports") {
    Catcher catcher;
    { Watchdog watchdog(10s, catcher.callback()); }
    CHECK_FALSE(catcher.fired());
}

TEST_CASE("time waiting for a person does not count against the budget") {
    Catcher catcher;
    Clock::time_point start = Clock::now();
    Watchdog watchdog(100ms, catcher.callback());
    {
        in_flight::WaitingForPerson typing;
        std::this_thread::sleep_for(400ms);
        CHECK_FALSE(catcher.fired());
    }
    REQUIRE(catcher.wait());
    // 400 ms at the prompt, then the whole 100 ms budget (less the few microseconds used
    // before the prompt).
    CHECK(catcher.at() - start >= 490ms);
}

TEST_CASE("work that must finish holds the watchdog, then the run gets time to report it") {
    Catcher catcher;
    Clock::time_point start = Clock::now();
    Watchdog watchdog(50ms, catcher.callback(), {.must_finish = 10s, .after_must_finish = 200ms});
    {
        in_flight::MustFinish verifying;
        std::this_thread::sleep_for(300ms);
        CHECK_FALSE(catcher.fired());
    }
    std::optional<Watchdog::Expiry> expiry = catcher.wait();
    REQUIRE(expiry);
    CHECK(catcher.at() - start >= 500ms);
    CHECK_FALSE(expiry->verification_unfinished);
}

TEST_CASE("work that must finish but never does is reported past its allowance") {
    Catcher catcher;
    in_flight::MustFinish verifying;
    Clock::time_point start = Clock::now();
    Watchdog watchdog(20ms, catcher.callback(), {.must_finish = 100ms, .after_must_finish = 1s});
    std::optional<Watchdog::Expiry> expiry = catcher.wait();
    REQUIRE(expiry);
    CHECK(catcher.at() - start >= 120ms);
    CHECK(expiry->verification_unfinished);
}

TEST_CASE("waits for a person add up, and only the time after the watchdog starts counts") {
    {
        in_flight::WaitingForPerson earlier;
        std::this_thread::sleep_for(20ms);
    }
    Clock::duration before = in_flight::time_waiting_for_person();
    CHECK(before >= 20ms);
    {
        in_flight::WaitingForPerson outer;
        in_flight::WaitingForPerson inner;  // nested: counted once
        CHECK(in_flight::waiting_for_person());
        std::this_thread::sleep_for(30ms);
    }
    CHECK_FALSE(in_flight::waiting_for_person());
    Clock::duration added = in_flight::time_waiting_for_person() - before;
    CHECK(added >= 30ms);
    CHECK(added < 10s);
}

}  // namespace cac
