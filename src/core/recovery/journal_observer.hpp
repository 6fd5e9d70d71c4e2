// The recovery policy's attempts, written to the error journal as kind "recovery"
// records: the error that called for recovery, the action taken, the attempt's number,
// its outcome and how long it took.
#pragma once

#include <string>

#include "core/recovery/journal.hpp"
#include "core/recovery/policy.hpp"

namespace cac {

class JournalObserver : public RecoveryObserver {
  public:
    // `writer` may be null (no journal): the attempts are then only logged.
    JournalObserver(JournalWriter* writer, std::string subcommand)
        : writer_(writer), subcommand_(std::move(subcommand)) {}

    void attempted(const Error& error, RecoveryAction action, int attempt, Outcome outcome,
                   std::chrono::milliseconds duration) override;

  private:
    JournalWriter* writer_;
    std::string subcommand_;
};

}  // namespace cac
