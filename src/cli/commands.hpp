// The table of subcommands. Each subcommand lives in its own file and contributes one
// function that declares its options on its CLI11 sub-app and returns what runs it.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <span>
#include <string_view>

#include "cli/context.hpp"

namespace cac::cli {

// Runs a parsed subcommand and returns its exit code. Errors may be thrown as cac::Error;
// the dispatcher reports them.
using Runner = std::function<int(Context&)>;

// Whether the timeout bounds a subcommand's whole run, stuck calls included (the
// watchdog, see run_parsed in app.cpp).
enum class TimeBound {
    always,       // talks to cards and modules: bounded by the timeout, default included
    when_chosen,  // bounded only by a timeout someone chose: a script may rightly run long
    never,        // watch (its --timeout means how long to watch), or no card at all
};

struct Command {
    std::string_view name;
    std::string_view summary;
    Runner (*setup)(CLI::App& app);
    TimeBound bound;
};

Runner setup_slots(CLI::App& app);
Runner setup_certs(CLI::App& app);
Runner setup_login(CLI::App& app);
Runner setup_readers(CLI::App& app);
Runner setup_watch(CLI::App& app);
Runner setup_apdu(CLI::App& app);
Runner setup_errors_report(CLI::App& app);
Runner setup_diag(CLI::App& app);

std::span<const Command> commands();

// A check for options whose value may not be empty: an unset shell variable in
// `--token "$TOKEN"` must not quietly select the first token.
const CLI::Validator& nonempty_value();

// The whole program: parse, dispatch, report.
int run(int argc, char** argv);

}  // namespace cac::cli
