// Recovery as a policy around an operation, rather than retry loops at call sites.
//
// An operation that fails with a cac::Error gets the recovery its code's taxonomy entry
// names (retry, reconnect to the card, a new PC/SC context, a reopened session, a module
// initialised again), then runs again, as long as:
// - the operation said it can be repeated: a read can, but a login, a VERIFY or anything
//   that changes the card or token never is, because repeating it can cost a PIN try or
//   do a change twice;
// - whoever runs it knows how to take that action (a Recoverer);
// - attempts are left (RetryPolicy.max_attempts) and the deadline (--timeout) is not
//   passed.
// Between attempts the policy waits an exponentially growing delay with jitter, so
// several processes that lost the same reader do not all come back at the same instant.
// Every attempt is reported to an observer (the journal) with its outcome; when the
// policy gives up, the last error is thrown with the number of attempts recorded in it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/recovery/journal.hpp"
#include "core/util/config.hpp"
#include "core/util/error.hpp"

namespace cac {

enum class Repeatable { yes, no };

// Takes the recovery actions for one kind of resource. recover() brings the resource
// back (waiting for it, within `deadline`, where that is what the action means) or throws
// the Error that stopped it; the policy then counts the attempt as failed.
class Recoverer {
  public:
    virtual ~Recoverer() = default;
    [[nodiscard]] virtual bool can(RecoveryAction action) const = 0;
    // Whether to take the recovery `error` asks for: by default, whether this recoverer
    // can take its action. A resource may know better (PC/SC: a card that never answered
    // is not waited for).
    [[nodiscard]] virtual bool takes(const Error& error) const {
        return can(error.taxonomy().action);
    }
    // What `error` really was, when the resource can tell better than its code says (PC/SC:
    // a command the card refused had met another program's reset), or nullopt.
    [[nodiscard]] virtual std::optional<Error> cause_of(const Error& /*error*/) {
        return std::nullopt;
    }
    virtual void recover(RecoveryAction action, const Error& error,
                         std::chrono::steady_clock::time_point deadline) = 0;
};

// Told of every recovery attempt once its outcome is known.
class RecoveryObserver {
  public:
    virtual ~RecoveryObserver() = default;
    // `attempt` counts from 1; `outcome` is recovered (the operation then succeeded) or
    // failed; `duration` covers the recovery action and the operation's next run.
    virtual void attempted(const Error& error, RecoveryAction action, int attempt, Outcome outcome,
                           std::chrono::milliseconds duration) = 0;
};

struct RecoveryLimits {
    int max_attempts = 3;
    std::chrono::milliseconds base_delay{100};
    std::chrono::milliseconds max_delay{2000};
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();

    // From the config file's retry policy and the command's timeout (none: no deadline).
    static RecoveryLimits from(const RetryPolicy& policy, std::optional<double> timeout_seconds);
};

class RecoveryPolicy {
  public:
    using Sleeper = std::function<void(std::chrono::milliseconds)>;
    // Maps the exponential delay to the one actually waited; the default draws uniformly
    // from [delay/2, delay].
    using Jitter = std::function<std::chrono::milliseconds(std::chrono::milliseconds)>;

    explicit RecoveryPolicy(RecoveryLimits limits, RecoveryObserver* observer = nullptr);

    // For unit tests: no real sleeping, no randomness.
    void set_sleeper(Sleeper sleeper) { sleep_ = std::move(sleeper); }
    void set_jitter(Jitter jitter) { jitter_ = std::move(jitter); }

    // The delay before attempt `attempt` (from 1), before jitter.
    [[nodiscard]] std::chrono::milliseconds backoff(int attempt) const;

    // Runs `operation` and returns what it returns, recovering as described above.
    template <class Operation>
    auto run(Repeatable repeatable, Recoverer& recoverer, Operation&& operation)
        -> decltype(operation()) {
        Progress progress;
        std::optional<Pending> pending;
        for (;;) {
            try {
                if constexpr (std::is_void_v<decltype(operation())>) {
                    operation();
                    settle(pending, nullptr);
                    return;
                } else {
                    auto result = operation();
                    settle(pending, nullptr);
                    return result;
                }
            } catch (const Error& error) {
                settle(pending, &error);
                pending = prepare(error, repeatable, recoverer, progress);
            }
        }
    }

  private:
    struct Progress {
        int attempts = 0;            // recovery attempts begun
        bool action_worked = false;  // some recovery action completed
    };
    // An attempt whose outcome is known once the operation has run again.
    struct Pending {
        Error error;
        RecoveryAction action;
        int attempt;
        std::chrono::steady_clock::time_point started;
    };

    // Waits and takes the recovery action for `error` (again, with what went wrong, while
    // the action itself fails), or throws the last error, marked with the attempts made,
    // when it is not to be recovered.
    Pending prepare(Error error, Repeatable repeatable, Recoverer& recoverer, Progress& progress);
    // Reports the pending attempt: recovered when `failure` is null.
    void settle(std::optional<Pending>& pending, const Error* failure);
    void report(const Error& error, RecoveryAction action, int attempt, Outcome outcome,
                std::chrono::steady_clock::time_point started);

    RecoveryLimits limits_;
    RecoveryObserver* observer_;
    Sleeper sleep_;
    Jitter jitter_;
};

}  // namespace cac
