#include "core/util/watchdog.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "core/util/in_flight.hpp"

namespace cac {
namespace {

using namespace std::chrono_literals;

// How often an overdue watchdog looks again while it waits for a person or for work that
// must finish: often enough to act promptly once they are done, rarely enough to cost
// nothing.
constexpr auto kRecheck = 100ms;

}  // namespace

Watchdog::Watchdog(Clock::duration budget, OnExpiry on_expiry, Allowances allowances)
    : budget_(budget),
      on_expiry_(std::move(on_expiry)),
      allowances_(allowances),
      start_(Clock::now()),
      waited_at_start_(in_flight::time_waiting_for_person()) {
    thread_ = std::thread([this] { watch(); });
}

Watchdog::~Watchdog() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

Watchdog::Clock::duration Watchdog::used(Clock::time_point now) const {
    return (now - start_) - (in_flight::time_waiting_for_person() - waited_at_start_);
}

void Watchdog::watch() {
    std::unique_lock lock(mutex_);
    Clock::duration budget = budget_;
    // Since when work that must finish has kept the watchdog from acting.
    std::optional<Clock::time_point> held_since;
    for (;;) {
        Clock::time_point now = Clock::now();
        Clock::duration left = budget - used(now);
        Clock::time_point wake_at;
        if (left > Clock::duration::zero()) {
            // While a person is at the prompt the budget does not shrink, so waking at
            // `now + left` would come round again at once.
            wake_at =
                now + (in_flight::waiting_for_person() ? std::max<Clock::duration>(left, kRecheck)
                                                       : left);
        } else if (in_flight::must_finish()) {
            if (!held_since)
                held_since = now;
            if (now - *held_since >= allowances_.must_finish)
                break;
            wake_at = now + kRecheck;
        } else if (held_since) {
            // The verification came back late: let the run report it.
            held_since.reset();
            budget = used(now) + allowances_.after_must_finish;
            continue;
        } else {
            break;
        }
        if (wake_.wait_until(lock, wake_at, [this] { return stopping_; }))
            return;
    }
    Expiry expiry{budget_, in_flight::call(), held_since.has_value()};
    lock.unlock();
    on_expiry_(expiry);
}

}  // namespace cac
