// The recovery policy of one run: its limits from the config file's retry policy and
// the command's timeout, its attempts written to the run's journal.
#pragma once

#include "cli/context.hpp"
#include "core/recovery/journal_observer.hpp"
#include "core/recovery/policy.hpp"

namespace cac::cli {

class RunRecovery {
  public:
    explicit RunRecovery(const Context& ctx)
        : observer_(ctx.journal.get(), ctx.subcommand),
          policy_(RecoveryLimits::from(ctx.config.retry, ctx.timeout_seconds), &observer_) {}
    RunRecovery(const RunRecovery&) = delete;
    RunRecovery& operator=(const RunRecovery&) = delete;

    RecoveryPolicy& policy() { return policy_; }

  private:
    JournalObserver observer_;
    RecoveryPolicy policy_;
};

}  // namespace cac::cli
