#include "core/recovery/journal_observer.hpp"

#include "core/util/log.hpp"

namespace cac {

void JournalObserver::attempted(const Error& error, RecoveryAction action, int attempt,
                                Outcome outcome, std::chrono::milliseconds duration) {
    log::info("recovery", error.code_text() + ": " + std::string(to_string(action)) + " attempt " +
                              std::to_string(attempt) + " " + std::string(to_string(outcome)));
    if (writer_ == nullptr)
        return;
    JournalRecord record =
        record_from_error(error, subcommand_, JournalKind::recovery, attempt, outcome);
    record.action = action;
    record.duration_ms = double(duration.count());
    // A journal that cannot be written has said so once already; the work goes on.
    writer_->append(record);
}

}  // namespace cac
