// How cactool speaks: one JSON document on stdout with --json, aligned text otherwise,
// diagnostics on stderr, and errors turned into messages and exit codes in one place.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/error.hpp"

namespace cac::cli {

using Json = nlohmann::ordered_json;

// The exit codes of SPEC.md.
enum ExitCode : int {
    exit_ok = 0,
    exit_failed = 1,
    exit_usage = 2,
    exit_not_found = 3,
    exit_auth_failed = 4,
    exit_pin_locked = 5,
    exit_middleware = 6,
    exit_communication = 7,
    exit_diag_failed = 8,
    exit_sw_mismatch = 9,
};

// The one mapping from an error to the exit code scripts rely on.
int exit_code_for(const Error& error);

// {"code", "name", "category", "severity", "message", "hint", "recovery": {...}}
Json error_json(const Error& error);

class Output {
  public:
    void configure(bool json, std::string_view color_mode);

    bool json() const { return json_; }
    bool color() const { return color_; }

    // Writes `body` as the one JSON document of this run, schema_version first.
    void document(Json body) const;
    // The document's opening: schema_version, then the keys of `head`, then the key of
    // a list whose items follow one by one with list_item(), closed by end_list(). For
    // long listings: no item has to be kept once it is written.
    void begin_list(Json head, std::string_view list_key) const;
    void list_item(const Json& item) const;
    void end_list() const;
    // Text for the human reader; ignored in JSON mode.
    void text(std::string_view line) const;
    // Text that is the whole result of the run, written at once: like document(), the
    // watchdog neither cuts into it nor follows it. Ignored in JSON mode.
    void text_result(std::string_view text) const;
    // Reports a failure on stderr (and as the JSON error document with --json) and
    // returns its exit code.
    int failure(const Error& error) const;
    // A usage problem found by the CLI itself: message on stderr, exit 2.
    int usage_failure(std::string_view message) const;
    // `hook` sees every failure reported from now on (the dispatcher journals them).
    void on_failure(std::function<void(const Error&)> hook) { failure_hook_ = std::move(hook); }
    // For a command that puts its failure in its own JSON document instead of calling
    // failure(): passes it to the hook without printing anything.
    void note_failure(const Error& error) const;
    // For the --timeout watchdog, from its own thread, while the run is stuck in a call:
    // reports `error` as failure() does and returns its exit code, unless the run has
    // already written its result (a document, a finished list, a failure): then nothing,
    // and nullopt. Whatever the run writes after this is held back for good.
    std::optional<int> cut_short(const Error& error) const;

    // Colour helpers for text output; plain text when colour is off.
    std::string good(std::string_view s) const { return paint("32", s); }
    std::string warn(std::string_view s) const { return paint("33", s); }
    std::string bad(std::string_view s) const { return paint("31", s); }
    std::string bold(std::string_view s) const { return paint("1", s); }

  private:
    std::string paint(std::string_view code, std::string_view s) const;

    bool json_ = false;
    bool color_ = false;
    mutable bool first_item_ = true;
    mutable bool list_open_ = false;  // begin_list() without end_list() yet
    // The run's result is written: a document, an end_list() or a failure().
    mutable bool complete_ = false;
    // Held while a JSON document, a piece of it, or a failure is written: the watchdog's
    // report must neither cut into one nor follow a finished one. Recursive because
    // failure() writes its document with document().
    mutable std::recursive_mutex writing_;
    std::function<void(const Error&)> failure_hook_;
};

// Text from a card, token or module made safe for a terminal: invalid UTF-8 replaced,
// control characters (C0, DEL, C1) shown as \xNN, so a label cannot move the cursor,
// change colours or forge a line of output.
std::string terminal_safe(std::string_view text);

// Flushes stdout. When the output could not be written (a full disk, a closed pipe),
// says so and returns exit_failed unless `code` already reports a failure.
int finish_output(int code);

// Rows of text columns, padded to line up; the last column is not padded.
std::string format_table(const std::vector<std::vector<std::string>>& rows,
                         std::string_view indent = "");

}  // namespace cac::cli
