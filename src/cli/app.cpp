// The dispatcher: builds the command line from the table of subcommands, resolves the
// `cactool-NAME` link form, sets up logging, output and configuration, runs the
// subcommand, and turns whatever went wrong into a message and an exit code.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cactool_config.hpp"
#include "cli/commands.hpp"
#include "cli/pin_input.hpp"
#include "core/util/log.hpp"
#include "core/util/watchdog.hpp"

namespace cac::cli {
namespace {

// How long after the time bound a call that has not returned ends the run. The code's own
// checks between calls act at the bound itself, with a more precise error; this margin
// lets a call that answers just after the bound be reported by them instead.
constexpr std::chrono::seconds kWatchdogGrace{2};

// Subcommands SPEC.md names that this release does not have yet; naming one gets a
// clear answer rather than "unexpected argument". Every one is there now.
constexpr std::array<std::string_view, 0> later_subcommands{};

const Command command_table[] = {
    {"slots", "PKCS#11 modules, slots and tokens, with flags and PIN status", setup_slots,
     TimeBound::always},
    {"certs", "certificates on a token, with their keys, validity and chain", setup_certs,
     TimeBound::always},
    {"login", "verify a PIN through PKCS#11 or over PC/SC, or report its retry status", setup_login,
     TimeBound::always},
    {"readers", "PC/SC readers, their state, the card's ATR and what it identifies", setup_readers,
     TimeBound::always},
    {"watch", "reader and card events as they happen, one line each", setup_watch,
     TimeBound::never},
    {"apdu", "send APDUs or a scriptor script to a card, with status word meanings", setup_apdu,
     TimeBound::when_chosen},
    {"errors-report", "what the error journal recorded: counts, recovery rate and patterns",
     setup_errors_report, TimeBound::never},
    {"diag", "check the whole stack, say what is wrong and how to fix it", setup_diag,
     TimeBound::always},
};

void add_global_options(CLI::App& app, GlobalOptions& g) {
    const CLI::Validator& nonempty = nonempty_value();
    app.add_flag("--json", g.json, "Machine output: one JSON document on stdout");
    app.add_flag("-v,--verbose", g.verbose, "More detail on stderr (repeat for debug)");
    app.add_flag("-q,--quiet", g.quiet, "Only errors on stderr");
    app.add_flag("--trace", g.trace,
                 "Log every PKCS#11 call and APDU with its duration (PINs masked)");
    app.add_option("--module", g.module, "PKCS#11 module: a path or a p11-kit module name")
        ->check(nonempty);
    app.add_option("--reader", g.reader, "PC/SC reader: index, exact name or unique substring")
        ->check(nonempty);
    app.add_option("--slot", g.slot, "PKCS#11 slot id")->check(nonempty);
    app.add_option("--token", g.token, "Token label or pkcs11: URI")->check(nonempty);
    app.add_option("--timeout", g.timeout, "Bound on card operations, in seconds")->check(nonempty);
    app.add_option("--config", g.config, "Config file (default: XDG then /etc)")->check(nonempty);
    app.add_option("--journal", g.journal, "Error journal location")->check(nonempty);
    app.add_flag("--no-journal", g.no_journal, "Keep no error journal");
    app.add_option("--color", g.color, "Colour: auto, always or never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
}

// The busybox form: invoked as `cactool-slots`, the binary runs `cactool slots`.
std::vector<std::string> arguments_of(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    std::string self = args.empty() ? "cactool" : args[0];
    self = self.substr(self.find_last_of('/') + 1);
    constexpr std::string_view prefix = "cactool-";
    if (self.starts_with(prefix)) {
        args.insert(args.begin() + 1, self.substr(prefix.size()));
    }
    return args;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

Error unexpected_word(const std::string& word) {
    auto usage = [](std::string reason) {
        return Error(CoreCode::usage, "parse the command line", std::move(reason));
    };
    if (word == "--pin" || word.starts_with("--pin="))
        return pin_on_command_line();
    if (word.starts_with("-"))
        return usage("unknown option " + word);
    for (std::string_view later : later_subcommands) {
        if (word == later)
            return usage("the '" + word + "' subcommand is not in this release of cactool");
    }
    for (const Command& command : command_table) {
        // `cactool-certs certs`: the link already names the subcommand.
        if (word == command.name)
            return usage("'" + word + "' given twice: the subcommand is already chosen");
    }
    for (const Command& command : command_table) {
        if (edit_distance(word, command.name) <= 2) {
            return usage("unknown subcommand '" + word + "'; did you mean '" +
                         std::string(command.name) + "'?");
        }
    }
    return usage("unexpected argument " + quoted_unless_pin(word));
}

void set_up_logging(const GlobalOptions& g) {
    int verbose = g.verbose;
    if (const char* debug = std::getenv("CAC_DEBUG")) {
        std::string value = debug;
        if (value == "true" || value == "1" || value == "yes")
            verbose = std::max(verbose, 2);
    }
    log::Level level = log::Level::warning;
    if (g.quiet) {
        level = log::Level::quiet;
    } else if (verbose >= 2) {
        level = log::Level::debug;
    } else if (verbose == 1) {
        level = log::Level::info;
    }
    log::set_level(level);
    log::set_trace(g.trace);
}

// --timeout and CAC_CARD_TIMEOUT, read by the rule the config file's timeout_seconds
// follows; the message names the source.
double parse_timeout(const std::string& text, const std::string& source) {
    std::optional<double> seconds = parse_timeout_seconds(text);
    if (!seconds) {
        throw Error(CoreCode::usage, "read " + source, "'" + text + "' is not " + timeout_rule);
    }
    return *seconds;
}

Config load_config(const GlobalOptions& g) {
    std::optional<std::string> path;
    if (!g.config.empty()) {
        path = g.config;
    } else {
        const char* xdg = std::getenv("XDG_CONFIG_HOME");
        const char* home = std::getenv("HOME");
        path = find_default_config(xdg ? xdg : "", home ? home : "");
    }
    if (!path)
        return Config{};
    Config config = load_config_file(*path);
    log::debug("config", "read " + *path);
    for (const std::string& warning : config.warnings)
        log::warning("config", *path + ": " + warning);
    return config;
}

// Sets the timeout and where it comes from.
void resolve_timeout(Context& ctx) {
    if (!ctx.options.timeout.empty()) {
        ctx.timeout_source = "--timeout";
        ctx.timeout_seconds = parse_timeout(ctx.options.timeout, ctx.timeout_source);
    } else if (const char* env = std::getenv("CAC_CARD_TIMEOUT"); env != nullptr && *env != '\0') {
        ctx.timeout_source = "CAC_CARD_TIMEOUT";
        ctx.timeout_seconds = parse_timeout(env, ctx.timeout_source);
    } else if (ctx.config.timeout_seconds) {
        ctx.timeout_source = "the configuration's timeout_seconds";
        ctx.timeout_seconds = *ctx.config.timeout_seconds;
    }
}

// The watchdog's report: the run is stuck in a call past its time bound.
//
// The error goes out as any other (stderr, the JSON document or the end of a listing
// under way, the journal), then the process ends at once: the stuck call cannot be
// cancelled, and a normal exit would run the module's and the C library's exit handlers,
// which may wait for that very call. pcscd releases the card of a client that is gone.
// Exports are written under a temporary name and renamed, so none is left half-written.
void end_overdue_run(const Context& ctx, const Watchdog::Expiry& expiry) {
    std::string bound = ctx.time_bound_text();
    // Named as the operation, as the run's own errors name it: "failed to C_FindObjects".
    std::string call = expiry.call ? expiry.call : "finish the " + ctx.subcommand;
    std::optional<Error> error;
    if (expiry.verification_unfinished) {
        error = Error(CoreCode::timed_out, call,
                      "no answer long past the time bound (" + bound +
                          "): the PIN verification's outcome is unknown, and the card may have "
                          "counted the try");
        error->with_hint(
            "check the tries left with 'cactool login --check' before trying the "
            "PIN again");
    } else {
        error = Error(CoreCode::timed_out, call, "no answer within the time bound (" + bound + ")");
    }
    std::optional<int> code = ctx.out.cut_short(*error);
    if (!code)
        return;  // the run's own result is out: let it end by itself
    std::cout.flush();
    std::fflush(nullptr);
    std::_Exit(*code);
}

// The journal of this run, fed with every failure the run reports from now on.
//
// An error that exits 2 (a usage error: an unknown option, a malformed value, an APDU or
// script that does not parse, a config file that is not valid) is not journaled: a typo
// tells nothing about the cards, readers and modules the journal is kept for. Errors
// CLI11 finds while parsing never get here either, since the journal's own location may
// be what was mistyped.
//
// A journal that cannot be written is said once on stderr (not with -q); the command's
// output and exit code stay what they would be without a journal.
void open_journal(Context& ctx) {
    std::string path = ctx.journal_location();
    if (path.empty())
        return;
    std::uint64_t cap = ctx.config.journal_max_bytes.value_or(default_journal_max_bytes);
    ctx.journal = std::make_unique<JournalWriter>(path, cap);
    ctx.journal->on_warning([](const std::string& warning) {
        if (log::level() == log::Level::quiet)
            return;
        std::string line = "cactool: warning: " + terminal_safe(warning) + "\n";
        std::fwrite(line.data(), 1, line.size(), stderr);
    });
    ctx.out.on_failure([&ctx](const Error& error) {
        if (exit_code_for(error) == exit_usage)
            return;
        try {
            ctx.journal->append(record_from_error(error, ctx.subcommand));
        } catch (const std::exception&) {
            // Out of memory while making the record: the command's result matters more.
        }
    });
}

int run_parsed(Context& ctx, const Runner& runner, TimeBound bound) {
    bool journal_open = false;
    std::optional<Error> failure;
    try {
        set_up_logging(ctx.options);
        ctx.config = load_config(ctx.options);
        open_journal(ctx);
        journal_open = true;
        resolve_timeout(ctx);
        // The code checks the time bound between calls and fails there with a precise
        // error; the watchdog, a little later, ends a run stuck inside one.
        std::unique_ptr<Watchdog> watchdog;
        if (bound == TimeBound::always ||
            (bound == TimeBound::when_chosen && !ctx.timeout_source.empty())) {
            auto budget = std::chrono::duration_cast<Watchdog::Clock::duration>(
                std::chrono::duration<double>(ctx.timeout_seconds) + kWatchdogGrace);
            watchdog = std::make_unique<Watchdog>(
                budget, [&ctx](const Watchdog::Expiry& expiry) { end_overdue_run(ctx, expiry); });
        }
        return runner(ctx);
    } catch (const Error& error) {
        failure = error;
    } catch (const std::exception& e) {
        failure = Error(CoreCode::internal, "run the command", e.what());
    }
    // A config file that cannot be read is journaled too, where the other sources put it.
    if (!journal_open)
        open_journal(ctx);
    return ctx.out.failure(*failure);
}

}  // namespace

std::optional<unsigned long> Context::slot_id() const {
    if (options.slot.empty())
        return std::nullopt;
    std::size_t used = 0;
    unsigned long id = 0;
    try {
        id = std::stoul(options.slot, &used, 0);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != options.slot.size() || options.slot.starts_with("-")) {
        throw Error(CoreCode::usage, "read --slot", "'" + options.slot + "' is not a slot id");
    }
    return id;
}

std::string Context::time_bound_text() const {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g s", timeout_seconds);
    return std::string(seconds) + ", " +
           (timeout_source.empty() ? "the default" : "from " + timeout_source);
}

std::string Context::journal_location() const {
    if (options.no_journal)
        return {};
    if (!options.journal.empty())
        return options.journal;
    if (const char* env = std::getenv("CACTOOL_JOURNAL"); env != nullptr && *env != '\0')
        return env;
    if (config.journal_path && !config.journal_path->empty())
        return *config.journal_path;
    const char* state = std::getenv("XDG_STATE_HOME");
    const char* home = std::getenv("HOME");
    return default_journal_path(state ? state : "", home ? home : "");
}

std::span<const Command> commands() {
    return command_table;
}

const CLI::Validator& nonempty_value() {
    static const CLI::Validator nonempty(
        [](std::string& value) { return value.empty() ? std::string("must not be empty") : ""; },
        "", "NONEMPTY");
    return nonempty;
}

int run(int argc, char** argv) {
    std::vector<std::string> args = arguments_of(argc, argv);
    std::vector<char*> argv_view;
    for (std::string& arg : args)
        argv_view.push_back(arg.data());

    CLI::App app{"cactool: one tool for CAC and PIV smart cards, PKCS#11 and PC/SC", "cactool"};
    Context ctx;
    add_global_options(app, ctx.options);
    app.set_version_flag("--version", CACTOOL_VERSION);
    app.require_subcommand(1);
    std::vector<std::pair<CLI::App*, Runner>> runners;
    for (const Command& command : command_table) {
        CLI::App* sub = app.add_subcommand(std::string(command.name), std::string(command.summary));
        sub->fallthrough();
        runners.emplace_back(sub, command.setup(*sub));
    }

    bool wants_json = std::find(args.begin(), args.end(), "--json") != args.end();
    ctx.out.configure(wants_json, "never");
    try {
        app.parse(int(argv_view.size()), argv_view.data());
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0)
            return app.exit(e);  // --help, --version
        // A mistyped subcommand surfaces as a missing subcommand plus a stray word.
        std::vector<std::string> extras = app.remaining(true);
        if (!extras.empty())
            return ctx.out.failure(unexpected_word(extras.front()));
        if (dynamic_cast<const CLI::RequiredError*>(&e) && app.get_subcommands().empty()) {
            if (wants_json)
                return ctx.out.usage_failure("no subcommand given");
            std::cerr << app.help();
            return exit_usage;
        }
        return ctx.out.usage_failure(e.what());
    }
    ctx.out.configure(ctx.options.json, ctx.options.color);
    for (std::size_t i = 0; i < runners.size(); ++i) {
        const auto& [sub, runner] = runners[i];
        if (sub->parsed()) {
            ctx.subcommand = sub->get_name();
            return finish_output(run_parsed(ctx, runner, command_table[i].bound));
        }
    }
    return ctx.out.usage_failure("no subcommand given");
}

}  // namespace cac::cli
