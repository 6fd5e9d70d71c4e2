// `cactool apdu`: sends command APDUs, from the command line or a scriptor script, through
// the core's exchange engine (GET RESPONSE, 6Cxx resend, chaining), inside one PC/SC
// transaction, and shows each exchange with its status word's meaning.
//
// Everything is read and checked before the card is touched: a malformed APDU or script
// is a usage error (exit 2) that names where the problem is, and the card sees nothing.
// Once the exchanges start, each one is written as it ends and none is kept: as a text
// block, or as the next entry of the JSON document's list. A failure on the way (the card
// removed, a run cut short by the time bound) still shows the exchanges done so far, then
// the error.
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/reader_selection.hpp"
#include "core/apdu/exchange.hpp"
#include "core/apdu/script.hpp"
#include "core/apdu/tlv.hpp"
#include "core/pcsc/card_handle.hpp"
#include "core/pcsc/channel.hpp"
#include "core/util/file_read.hpp"

namespace cac::cli {
namespace {

struct ApduOptions {
    std::vector<std::string> apdus;
    std::string script;
    std::string expect;
    bool chain = false;
    bool tlv = false;
    bool no_get_response = false;
};

Error usage(std::string operation, std::string reason) {
    return Error(CoreCode::usage, std::move(operation), std::move(reason));
}

std::vector<SwPattern> parse_expectation(const std::string& text) {
    std::vector<SwPattern> patterns;
    std::istringstream in(text);
    std::string piece;
    while (std::getline(in, piece, '|')) {
        auto first = piece.find_first_not_of(' ');
        auto last = piece.find_last_not_of(' ');
        std::string trimmed =
            first == std::string::npos ? "" : piece.substr(first, last - first + 1);
        std::optional<SwPattern> pattern = SwPattern::parse(trimmed);
        if (!pattern) {
            throw usage("read --expect", "'" + trimmed +
                                             "' is not a status word pattern (four hex digits, "
                                             "x for any digit, several joined by |)");
        }
        patterns.push_back(*pattern);
    }
    return patterns;
}

// A script of a hundred thousand commands fits many times over; past this, a path named
// by mistake (/dev/zero, a disk image) is refused instead of filling the memory.
constexpr std::size_t kMaxScriptBytes = 16 * 1024 * 1024;

std::string read_script_text(const std::string& path) {
    if (path == "-") {
        std::string text;
        std::array<char, 65536> chunk;
        while (std::cin.read(chunk.data(), chunk.size()) || std::cin.gcount() > 0) {
            text.append(chunk.data(), std::size_t(std::cin.gcount()));
            if (text.size() > kMaxScriptBytes) {
                throw usage("read the script from stdin",
                            "larger than " + std::to_string(kMaxScriptBytes) + " bytes");
            }
        }
        return text;
    }
    // A folder opens like a file on Linux and then reads as nothing: say so instead of
    // running an empty script.
    FileRead read = read_bounded_file(path, kMaxScriptBytes);
    switch (read.problem) {
        case FileRead::Problem::none:
            return std::move(read.content);
        case FileRead::Problem::is_directory:
            throw usage("read script " + path, "it is a folder, not a script file");
        case FileRead::Problem::cannot_open:
            throw usage("read script " + path,
                        "cannot open the file: " + problem_text(read, kMaxScriptBytes));
        case FileRead::Problem::too_large:
        case FileRead::Problem::read_error:
            break;
    }
    throw usage("read script " + path, problem_text(read, kMaxScriptBytes));
}

// The steps to run, from the hex arguments or the script; all checked before any is sent.
Script read_steps(const ApduOptions& options) {
    if (!options.script.empty() && !options.apdus.empty())
        throw usage("parse the command line", "give APDUs as arguments or --script, not both");
    if (options.script.empty() && options.apdus.empty())
        throw usage("parse the command line", "no APDU given (hex arguments or --script FILE)");
    if (!options.script.empty()) {
        if (!options.expect.empty())
            throw usage("parse the command line",
                        "--expect is for hex arguments; a script writes '=> SW' after a command");
        return parse_script(read_script_text(options.script));
    }
    Script script;
    std::vector<SwPattern> expect;
    if (!options.expect.empty())
        expect = parse_expectation(options.expect);
    for (std::size_t i = 0; i < options.apdus.size(); ++i) {
        ApduCommand::HexProblem problem;
        std::optional<ApduCommand> command = ApduCommand::parse(options.apdus[i], problem);
        if (!command) {
            throw Error(CoreCode::parse_error, "read APDU argument " + std::to_string(i + 1),
                        "at position " + std::to_string(problem.position) + ": " + problem.what);
        }
        script.steps.push_back(ScriptStep{ScriptStep::Kind::apdu, *command, expect, i + 1});
    }
    return script;
}

// Commands that carry a PIN or PUK (carries_secret: VERIFY, CHANGE REFERENCE DATA, RESET
// RETRY COUNTER) show their header only: the bytes after it never reach the output, only
// their count. `sent` is the command's length on the wire, which the exchanger's record
// of such a command (its header and Lc) no longer has.
std::string command_text(std::span<const std::uint8_t> apdu, std::size_t sent) {
    if (sent > 4 && apdu.size() >= 4 && carries_secret(apdu[1]))
        return to_hex(apdu.first(4)) + " <masked " + std::to_string(sent - 4) + " bytes>";
    return to_hex(apdu);
}

std::string command_text(const ApduCommand& command) {
    Bytes encoded = command.encode();
    return command_text(encoded, encoded.size());
}

double milliseconds(std::chrono::nanoseconds duration) {
    return double(duration.count()) / 1e6;
}

std::string expectation_text(const std::vector<SwPattern>& expect) {
    std::string text;
    for (const SwPattern& pattern : expect)
        text += (text.empty() ? "" : "|") + pattern.text();
    return text;
}

Json exchange_json(const ScriptStep& step, const ExchangeResult& result, bool tlv) {
    Json transmissions = Json::array();
    for (const Transmission& t : result.transmissions) {
        transmissions.push_back(Json{{"purpose", std::string(to_string(t.purpose))},
                                     {"command", command_text(t.command, t.sent)},
                                     {"response", to_hex(t.response)},
                                     {"duration_ms", milliseconds(t.duration)}});
    }
    const ApduResponse& response = result.response;
    Json entry{{"line", step.line}, {"command", command_text(step.command)}};
    entry["response"] = result.failure ? Json(nullptr) : Json(to_hex(response.data));
    entry["sw"] = result.failure ? Json(nullptr) : Json(response.sw.hex());
    entry["meaning"] = result.failure ? Json(nullptr) : Json(response.meaning().text);
    entry["duration_ms"] = milliseconds(result.stats.duration);
    entry["expected"] = step.expect.empty() ? Json(nullptr) : Json(expectation_text(step.expect));
    entry["ok"] = !result.failure && step.accepts(response.sw);
    entry["interrupted"] = result.interrupted ? Json(result.note) : Json(nullptr);
    entry["transmissions"] = transmissions;
    if (tlv && !result.failure)
        entry["tlv"] = Json::parse(tlv_to_json(parse_tlv(response.data)).dump());
    return entry;
}

void tlv_text(const Context& ctx, const std::vector<TlvNode>& nodes, std::uint32_t parent,
              std::string indent) {
    for (const TlvNode& node : nodes) {
        std::string name(tag_name(node.tag, parent));
        std::string line = indent + tag_hex(node.tag) + (name.empty() ? "" : " (" + name + ")") +
                           " [" + std::to_string(node.length) + "]";
        if (!node.constructed)
            line += " " + to_hex(node.value);
        ctx.out.text(terminal_safe(line));
        tlv_text(ctx, node.children, node.tag, indent + "  ");
    }
}

void exchange_text(const Context& ctx, const ScriptStep& step, const ExchangeResult& result,
                   bool tlv) {
    ctx.out.text("> " + command_text(step.command));
    if (result.failure)
        return;
    const ApduResponse& response = result.response;
    if (!response.data.empty())
        ctx.out.text("< " + to_hex(response.data));
    std::string line = "  SW " + response.sw.hex() + ": " + response.meaning().text;
    if (!step.expect.empty()) {
        bool ok = step.accepts(response.sw);
        line += "  (expected " + expectation_text(step.expect) + ": " +
                (ok ? ctx.out.good("ok") : ctx.out.bad("MISMATCH")) + ")";
    }
    ctx.out.text(terminal_safe(line));
    if (result.interrupted)
        ctx.out.text("  interrupted: " + terminal_safe(result.note));
    if (tlv && !response.data.empty()) {
        TlvDocument doc = parse_tlv(response.data);
        tlv_text(ctx, doc.nodes, 0, "  ");
        for (const TlvIssue& issue : doc.issues)
            ctx.out.text("  tlv " + std::string(issue.error ? "error" : "warning") + " at " +
                         std::to_string(issue.offset) + ": " + terminal_safe(issue.what));
    }
}

using Clock = std::chrono::steady_clock;

// What a run keeps. Each exchange is written as it ends and nothing of it is kept, so a
// script of any length runs in the same memory.
struct RunState {
    bool mismatch = false;
    std::optional<Error> failure;
    std::size_t sent = 0;
    std::optional<Clock::time_point> deadline;
    std::string bound;  // "--timeout (2 s)": where the deadline comes from, for the error
};

// --timeout (or CAC_CARD_TIMEOUT, or the config's timeout) bounds the whole script, from
// the start of its transaction. PC/SC cannot cancel an SCardTransmit that is waiting for
// the card, so the bound is checked before each command: the command in flight when it
// passes still gets its answer, and the next one is not sent. A card that holds its answer
// back well past the bound is the dispatcher's watchdog's to cut off. Without any of the
// three the script is not bounded: the built-in default would cut long scripts short.
void set_deadline(const Context& ctx, RunState& state) {
    if (ctx.timeout_source.empty())
        return;
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", ctx.timeout_seconds);
    state.bound = ctx.timeout_source + " (" + seconds + " s)";
    auto bound = std::chrono::duration<double>(ctx.timeout_seconds);
    state.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(bound);
}

// The same code as a run the watchdog cuts short (exit 7): for a script, whether the
// card was slow or stuck is a matter of degree.
Error past_deadline(const ScriptStep& step, const RunState& state) {
    return Error(CoreCode::timed_out, "send the command of line " + std::to_string(step.line),
                 "the script ran past " + state.bound + " after " + std::to_string(state.sent) +
                     " command(s)");
}

void run_steps(const Context& ctx, pcsc::CardHandle& card, const Script& script,
               ApduExchanger& exchanger, const ApduOptions& options, RunState& state) {
    for (const ScriptStep& step : script.steps) {
        if (state.deadline && Clock::now() >= *state.deadline) {
            state.failure = past_deadline(step, state);
            return;
        }
        if (step.kind == ScriptStep::Kind::reset) {
            card.reconnect(pcsc::ShareMode::shared, pcsc::protocols::any, pcsc::Disposition::reset);
            exchanger.forget_pending();
            ctx.out.text("reset");
            continue;
        }
        ExchangeResult result = exchanger.exchange(step.command);
        state.sent += 1;
        if (ctx.out.json())
            ctx.out.list_item(exchange_json(step, result, options.tlv));
        else
            exchange_text(ctx, step, result, options.tlv);
        if (result.failure) {
            state.failure = *result.failure;
            return;
        }
        state.mismatch = state.mismatch || !step.accepts(result.response.sw);
    }
}

int run_apdu(Context& ctx, const ApduOptions& options) {
    Script script = read_steps(options);
    pcsc::Context pcsc_context;
    std::string reader = select_reader(pcsc_context, ctx.options.reader);
    pcsc::CardHandle card(pcsc_context, reader, pcsc::ShareMode::shared);

    ExchangeOptions exchange_options;
    exchange_options.chain = options.chain;
    exchange_options.get_response = !options.no_get_response;
    exchange_options.max_apdu_size = pcsc::max_apdu_size(card);
    pcsc::PcscChannel channel(card);
    ApduExchanger exchanger(channel, exchange_options);

    RunState state;
    // The list is open from the first command on: when the watchdog ends a run stuck in
    // a transmit, the exchanges done before it are in the document, with the error.
    if (ctx.out.json())
        ctx.out.begin_list(Json{{"reader", reader}}, "exchanges");
    {
        pcsc::Transaction transaction = card.begin_transaction();
        set_deadline(ctx, state);
        try {
            run_steps(ctx, card, script, exchanger, options, state);
        } catch (const Error& error) {
            state.failure = error;  // a reset that failed
        }
    }
    // The exchanges written so far come before the error, also when stdout and stderr
    // are the same file (2>&1).
    std::cout.flush();
    // With --json, failure() closes the list and adds the error to the document.
    if (state.failure)
        return ctx.out.failure(*state.failure);
    if (ctx.out.json())
        ctx.out.end_list();
    return state.mismatch ? exit_sw_mismatch : exit_ok;
}

}  // namespace

Runner setup_apdu(CLI::App& app) {
    auto options = std::make_shared<ApduOptions>();
    app.add_option("apdus", options->apdus, "Command APDUs in hex, sent in order");
    app.add_option("--script", options->script,
                   "A scriptor script (hex lines, reset, exit, # comments, => SW); - for stdin")
        ->check(nonempty_value());
    app.add_option("--expect", options->expect,
                   "Status word each hex argument must end with (9000, 61xx, 9000|6A82)")
        ->check(nonempty_value());
    app.add_flag("--chain", options->chain,
                 "Send data over 255 bytes with command chaining instead of extended length");
    app.add_flag("--tlv", options->tlv, "Decode response data as BER-TLV");
    app.add_flag("--no-get-response", options->no_get_response,
                 "Leave 61xx answers for the next command to fetch, as scriptor does");
    return [options](Context& ctx) { return run_apdu(ctx, *options); };
}

}  // namespace cac::cli
