// The recovery policy of one run: its limits from the config file's retry policy and
// the command's timeout, its attempts written to the run's journal.
#pragma once

#include "cli/context.hpp"
#include "core/apdu/exchange.hpp"
#include "core/pcsc/channel.hpp"
#include "core/piv/piv.hpp"
#include "core/recovery/journal_observer.hpp"
#include "core/recovery/pcsc_recovery.hpp"
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

// The card a PcscRecoverer holds, spoken to as a PIV card: an exchanger over the
// recoverer's channel, sized for the reader, and for as long as this lives the re-enter
// step a PIV card needs after a reset (no answer pending any more, the PIV application
// selected again).
class PivOverPcsc {
  public:
    explicit PivOverPcsc(PcscRecoverer& card)
        : card_(card), exchanger_(card.channel(), options_for(card)) {
        card_.set_reenter([this] {
            exchanger_.forget_pending();
            (void)piv::select(exchanger_);
        });
    }
    ~PivOverPcsc() { card_.set_reenter({}); }
    PivOverPcsc(const PivOverPcsc&) = delete;
    PivOverPcsc& operator=(const PivOverPcsc&) = delete;

    ApduExchanger& exchanger() { return exchanger_; }

  private:
    static ExchangeOptions options_for(PcscRecoverer& card) {
        ExchangeOptions options;
        options.max_apdu_size = pcsc::max_apdu_size(card.card());
        return options;
    }

    PcscRecoverer& card_;
    ApduExchanger exchanger_;
};

}  // namespace cac::cli
