#include "core/recovery/policy.hpp"

#include <algorithm>
#include <random>
#include <thread>

#include "core/util/log.hpp"

namespace cac {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

milliseconds half_to_full(milliseconds delay) {
    thread_local std::minstd_rand random{std::random_device{}()};
    if (delay.count() <= 1)
        return delay;
    std::uniform_int_distribution<milliseconds::rep> pick(delay.count() / 2, delay.count());
    return milliseconds(pick(random));
}

// Actions that put something back in place; user_action needs a person.
bool automatic(RecoveryAction action) {
    return action != RecoveryAction::none && action != RecoveryAction::user_action;
}

}  // namespace

RecoveryLimits RecoveryLimits::from(const RetryPolicy& policy,
                                    std::optional<double> timeout_seconds) {
    RecoveryLimits limits;
    limits.max_attempts = std::max(0, policy.max_attempts);
    limits.base_delay = milliseconds(std::max(0, policy.base_delay_ms));
    limits.max_delay = std::max(limits.base_delay, milliseconds(std::max(0, policy.max_delay_ms)));
    if (timeout_seconds && *timeout_seconds > 0) {
        limits.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(*timeout_seconds));
    }
    return limits;
}

RecoveryPolicy::RecoveryPolicy(RecoveryLimits limits, RecoveryObserver* observer)
    : limits_(limits),
      observer_(observer),
      sleep_([](milliseconds delay) { std::this_thread::sleep_for(delay); }),
      jitter_(half_to_full) {}

milliseconds RecoveryPolicy::backoff(int attempt) const {
    milliseconds delay = limits_.base_delay;
    for (int i = 1; i < attempt && delay < limits_.max_delay; ++i)
        delay *= 2;
    return std::min(delay, limits_.max_delay);
}

RecoveryPolicy::Pending RecoveryPolicy::prepare(Error error, Repeatable repeatable,
                                                Recoverer& recoverer, Progress& progress) {
    for (;;) {
        if (std::optional<Error> cause = recoverer.cause_of(error))
            error = *cause;
        RecoveryAction action = error.taxonomy().action;
        auto give_up = [&](const std::string& why) {
            if (automatic(action))
                log::info("recovery", error.code_text() + ": " + why);
            error.with_recovery({progress.attempts, progress.action_worked});
            throw error;
        };
        if (!automatic(action) || !recoverer.takes(error))
            give_up("no recovery is known for it here");
        if (repeatable == Repeatable::no)
            give_up("not repeated: the operation could change the card or cost a PIN try");
        if (progress.attempts >= limits_.max_attempts)
            give_up("still failing after " + std::to_string(progress.attempts) + " attempts");
        milliseconds delay = std::max(milliseconds(0), jitter_(backoff(progress.attempts + 1)));
        if (Clock::now() + delay >= limits_.deadline)
            give_up("the time allowed (--timeout) has run out");

        int attempt = ++progress.attempts;
        log::info("recovery", error.code_text() + ": " + std::string(to_string(action)) +
                                  ", attempt " + std::to_string(attempt) + " after " +
                                  std::to_string(delay.count()) + " ms");
        sleep_(delay);
        auto started = Clock::now();
        try {
            recoverer.recover(action, error, limits_.deadline);
        } catch (const Error& failed) {
            report(error, action, attempt, Outcome::failed, started);
            error = failed;
            continue;
        }
        progress.action_worked = true;
        return Pending{error, action, attempt, started};
    }
}

void RecoveryPolicy::settle(std::optional<Pending>& pending, const Error* failure) {
    if (!pending)
        return;
    report(pending->error, pending->action, pending->attempt,
           failure ? Outcome::failed : Outcome::recovered, pending->started);
    pending.reset();
}

void RecoveryPolicy::report(const Error& error, RecoveryAction action, int attempt, Outcome outcome,
                            Clock::time_point started) {
    if (observer_ == nullptr)
        return;
    auto duration = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
    observer_->attempted(error, action, attempt, outcome, duration);
}

}  // namespace cac
