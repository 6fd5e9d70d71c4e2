// What every subcommand receives: the global options as given, the configuration they
// resolve to, and the way to speak to the user.
#pragma once

#include <optional>
#include <string>

#include "cli/output.hpp"
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

    // --slot as a number, when given; a malformed one is a usage error.
    std::optional<unsigned long> slot_id() const;
};

}  // namespace cac::cli
