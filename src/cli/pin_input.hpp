// Where a PIN comes from. Never the command line: a value there is visible to every
// user through ps and /proc, and stays in shell history.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "core/util/error.hpp"
#include "core/util/secret.hpp"

namespace cac::cli {

struct PinOptions {
    bool from_stdin = false;
    std::string env_var;
    std::string file;
    std::string refused;  // whatever followed --pin; wiped, never used
    CLI::Option* refused_option = nullptr;

    bool any_source() const { return from_stdin || !env_var.empty() || !file.empty(); }
};

// --pin-stdin, --pin-env VAR, --pin-file PATH, and a --pin that is refused.
void add_pin_options(CLI::App& app, PinOptions& options);

// The usage error for a PIN given on the command line, naming the alternatives.
Error pin_on_command_line();

// A command-line word for a message, quoted; but a word that looks like a PIN (four or
// more characters, all digits) is described instead of shown, because the likeliest reason
// it is where it is, is a PIN typed in the wrong place (`--pin-env 123456`).
std::string quoted_unless_pin(const std::string& word);

// Throws a usage error when --pin was given or several sources were.
void check_pin_options(PinOptions& options);

// Reads the PIN from the one source given, or prompts without echo when stdin is a
// terminal. Returns nullopt when no source was given and `pin_pad` says the token or
// reader has its own PIN pad, which the caller then uses. `what` names the PIN in the
// prompt ("user PIN", "SO PIN").
std::optional<Secret> read_pin(const PinOptions& options, bool pin_pad, const std::string& what);

}  // namespace cac::cli
