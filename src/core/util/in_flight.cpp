#include "core/util/in_flight.hpp"

#include <atomic>

namespace cac::in_flight {
namespace {

std::atomic<const char*> current_call{nullptr};
std::atomic<int> unfinished{0};

using Clock = std::chrono::steady_clock;
// In Clock ticks: the waits that ended, and the start of the one under way (0: none).
// Only the thread doing the work starts and ends waits; the watchdog only reads.
std::atomic<Clock::rep> waited_before{0};
std::atomic<Clock::rep> wait_started{0};
int wait_depth = 0;

}  // namespace

void entered(const char* call) noexcept {
    current_call.store(call, std::memory_order_relaxed);
}

void left() noexcept {
    current_call.store(nullptr, std::memory_order_relaxed);
}

const char* call() noexcept {
    return current_call.load(std::memory_order_relaxed);
}

MustFinish::MustFinish() noexcept {
    unfinished.fetch_add(1, std::memory_order_acq_rel);
}

MustFinish::~MustFinish() {
    unfinished.fetch_sub(1, std::memory_order_acq_rel);
}

bool must_finish() noexcept {
    return unfinished.load(std::memory_order_acquire) > 0;
}

WaitingForPerson::WaitingForPerson() noexcept {
    if (wait_depth++ == 0)
        wait_started.store(Clock::now().time_since_epoch().count(), std::memory_order_release);
}

WaitingForPerson::~WaitingForPerson() {
    if (--wait_depth != 0)
        return;
    Clock::rep started = wait_started.load(std::memory_order_acquire);
    Clock::rep now = Clock::now().time_since_epoch().count();
    // The total grows before the wait under way is cleared: a reader in between may count
    // that wait twice (too little time used, so a late expiry), never not at all.
    waited_before.fetch_add(now - started, std::memory_order_acq_rel);
    wait_started.store(0, std::memory_order_release);
}

Clock::duration time_waiting_for_person() noexcept {
    // Read in the opposite order to the writes in ~WaitingForPerson.
    Clock::rep started = wait_started.load(std::memory_order_acquire);
    Clock::rep total = waited_before.load(std::memory_order_acquire);
    if (started != 0)
        total += Clock::now().time_since_epoch().count() - started;
    return Clock::duration(total);
}

bool waiting_for_person() noexcept {
    return wait_started.load(std::memory_order_acquire) != 0;
}

}  // namespace cac::in_flight
