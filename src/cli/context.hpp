// What every subcommand receives: the global options as given, the configuration they
// resolve to, and the way to speak to the user.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "cli/output.hpp"
#include "core/recovery/journal.hpp"
#include "core/util/config.hpp"

namespace cac::cli {

// The global options exactly as given on the command line (SPEC.md, "Global options").
struct GlobalOptions {
    bool json = false;
    int verbose = 0;
    bool quiet = false;
    bool trace = false;
    std::string module;
    std::string reader;
    std::string slot;
    std::string token;
    std::string timeout;
    std::string config;
    std::string journal;
    bool no_journal = false;
    std::string color = "auto";
};

struct Context {
    GlobalOptions options;
    Config config;
    Output out;
    double timeout_seconds = 30;
    // Where timeout_seconds comes from when someone chose it: "--timeout",
    // "CAC_CARD_TIMEOUT" or "the configuration's timeout_seconds"; empty for the built-in
    // default.
    std::string timeout_source;
    // The subcommand being run, as the command table names it.
    std::string subcommand;
    // The error journal of this run; null with --no-journal or when there is no location.
    // The dispatcher appends the error it reports; anything else that has something to
    // record (the recovery policy, for its attempts) appends through this same writer.
    std::unique_ptr<JournalWriter> journal;

    // --slot as a number, when given; a malformed one is a usage error.
    std::optional<unsigned long> slot_id() const;
    // Where the journal is: --journal, else CACTOOL_JOURNAL, else the config's journal
    // path, else default_journal_path() of XDG_STATE_HOME and HOME. Empty with
    // --no-journal, or when none of these gives a location.
    std::string journal_location() const;
    // The time bound and where it comes from, for messages: "30 s, the default",
    // "5 s, from --timeout".
    std::string time_bound_text() const;
};

}  // namespace cac::cli
