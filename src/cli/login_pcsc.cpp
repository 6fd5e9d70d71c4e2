// `cactool login --pcsc`: the PIV PIN verified with VERIFY over PC/SC, without a module.
//
// Everything happens in one PC/SC transaction, so no other program's command lands
// between the status the lockout guard judges and the VERIFY it lets through: SELECT the
// PIV application, read the Discovery Object (which PIN is primary), the empty VERIFY
// (the tries left, none spent), then at most one VERIFY with the PIN. The PIN is read,
// and its form checked, before the card is touched, so no prompt waits inside the
// transaction and a PIN of the wrong form never reaches the card.
//
// With a PIN, nothing runs under the recovery policy: a VERIFY with a PIN is never
// repeated, and the reads before it share its transaction. --check sends no PIN, so its
// reads (SELECT, the Discovery Object, the empty VERIFY) run under the policy with the
// PC/SC recoverer as certs --pcsc's do: an answer lost on the way, a reset by another
// program, a card pulled out and put back are recovered, without a transaction.
//
// A card's answers do not say what PKCS#11's flags say; the report maps them so:
// retries_left is the card's count (null when it gives none, as after 6300, or 9000 to
// the empty VERIFY of a PIN verified already), final_try is a count of 1, locked is
// 6983, and count_low is a count at most one above the lockout guard's threshold (see
// count_low in core/card/pin_policy.hpp): the card reports no maximum to compare with, so
// the same count gives the same answer whether it was read by --check or after a VERIFY.
#include "cli/login.hpp"
#include "cli/reader_selection.hpp"
#include "cli/recovery.hpp"
#include "core/card/pin_policy.hpp"
#include "core/pcsc/channel.hpp"
#include "core/piv/piv.hpp"
#include "core/recovery/pcsc_recovery.hpp"
#include "core/util/log.hpp"

namespace cac::cli {
namespace {

using piv::PinCounter;
using State = PinCounter::State;

constexpr std::uint32_t kDiscoveryTag = 0x7E;

struct Card {
    std::string reader;
    Bytes atr;
    piv::PinReference reference = piv::PinReference::application;
};

std::string pin_name(piv::PinReference reference) {
    return reference == piv::PinReference::global ? "Global PIN" : "PIV PIN";
}

LoginSubject subject_of(const Card& card) {
    bool global = card.reference == piv::PinReference::global;
    return LoginSubject{Json{{"reader", card.reader},
                             {"atr", to_hex(card.atr)},
                             {"pin", global ? "global" : "application"},
                             {"key_reference", global ? "00" : "80"},
                             {"source", "pcsc"}},
                        "reader " + terminal_safe(card.reader) + ": " + pin_name(card.reference)};
}

PinReport report_of(const Context& ctx, const PinCounter& counter) {
    PinReport report;
    report.retries_left = counter.state == State::blocked ? std::optional<int>(0) : counter.tries;
    report.final_try = counter.tries == 1;
    report.locked = counter.state == State::blocked;
    report.count_low = count_low(counter.tries, ctx.config.lockout_threshold);
    return report;
}

std::string describe(const PinCounter& counter) {
    switch (counter.state) {
        case State::blocked:
            return "blocked: only the PUK unblocks it";
        case State::verified:
            return "verified in this card session; the card does not say the count";
        case State::count_unknown:
            return "the card did not say how many tries are left";
        case State::tries_left:
            break;
    }
    int tries = *counter.tries;
    if (tries == 1)
        return "one try left: the next wrong PIN blocks it";
    return std::to_string(tries) + " tries left";
}

Error located(Error error, const Card& card) {
    ErrorContext where;
    where.reader = card.reader;
    error.with_context(where);
    return error;
}

// The Discovery Object, when the card has one that can be read; a card without one
// uses the application PIN.
std::optional<piv::DiscoveryObject> read_discovery(ApduExchanger& exchanger) {
    std::optional<Bytes> object = piv::get_data(exchanger, kDiscoveryTag);
    if (!object)
        return std::nullopt;
    try {
        piv::DiscoveryObject discovery = piv::parse_discovery(*object);
        for (const std::string& warning : discovery.warnings)
            log::warning("piv", "discovery object: " + warning);
        return discovery;
    } catch (const Error& e) {
        log::warning("piv", "the discovery object cannot be read (" + e.message() +
                                "); verifying the application PIN");
        return std::nullopt;
    }
}

PinCounter counter_now(ApduExchanger& exchanger, const Card& card) {
    PinCounter counter = piv::read_pin_counter(exchanger, card.reference);
    if (counter.nonstandard) {
        log::warning("piv", "the card wrote its tries left as " + StatusWord::of(counter.sw).hex() +
                                " rather than 63Cx, as some older cards do; read as the count");
    }
    return counter;
}

// Why the guard refuses, or nothing: the last try, a count at the threshold, or a card
// that gives no count at all (the next wrong PIN could then be its last, and nobody
// would know before).
std::optional<std::string> guard_reason(const PinCounter& counter, int threshold) {
    if (counter.state == State::count_unknown && threshold > 0)
        return "the card does not say how many tries are left";
    if (login_could_lock(counter.tries, threshold))
        return "the card has " + describe(counter);
    return std::nullopt;
}

// The status after a correct PIN, for the cards that give the count then. The PIN is
// verified whatever this read meets: a card pulled out right after still makes "ok".
PinCounter status_after_success(ApduExchanger& exchanger, const Card& card,
                                const PinCounter& verified) {
    try {
        return counter_now(exchanger, card);
    } catch (const Error& e) {
        log::warning("piv",
                     "the PIN was verified, but its status afterwards could not be "
                     "read: " +
                         e.message());
        return verified;
    }
}

// The one VERIFY with the PIN, and the report of its answer.
int verify(const Context& ctx, const LoginOptions& options, const Card& card,
           ApduExchanger& exchanger, const Secret& pin) {
    piv::VerifyOutcome outcome = piv::verify_pin(exchanger, card.reference, pin);
    const std::string operation = "verify the " + pin_name(card.reference);
    switch (outcome.result) {
        case piv::VerifyResult::correct: {
            PinCounter after = status_after_success(exchanger, card, outcome.counter);
            return report_login(ctx, options, subject_of(card), "ok", report_of(ctx, after),
                                describe(after));
        }
        case piv::VerifyResult::incorrect:
            ctx.out.note_failure(
                located(Error(ErrorDomain::status_word, outcome.counter.sw, operation), card));
            return report_login(ctx, options, subject_of(card), "incorrect",
                                report_of(ctx, outcome.counter), describe(outcome.counter));
        case piv::VerifyResult::blocked:
            break;
    }
    ctx.out.note_failure(
        located(Error(ErrorDomain::status_word, outcome.counter.sw, operation), card));
    return report_login(ctx, options, subject_of(card), "locked", report_of(ctx, outcome.counter),
                        describe(outcome.counter));
}

// --check: the PIN's status, each read repeatable under the recovery policy.
int check_status(const Context& ctx, const LoginOptions& options) {
    pcsc::Context context;
    Card card;
    card.reader = select_reader(context, ctx.options.reader);
    PcscRecoverer recoverer(std::move(context), card.reader);
    card.atr = recoverer.atr();
    PivOverPcsc piv_card(recoverer);
    ApduExchanger& exchanger = piv_card.exchanger();
    RunRecovery recovery(ctx);
    RecoveryPolicy& policy = recovery.policy();
    std::optional<piv::DiscoveryObject> discovery = policy.run(Repeatable::yes, recoverer, [&] {
        (void)piv::select(exchanger);
        return read_discovery(exchanger);
    });
    card.reference = piv::pin_to_verify(discovery);
    PinCounter status =
        policy.run(Repeatable::yes, recoverer, [&] { return counter_now(exchanger, card); });
    return report_login(ctx, options, subject_of(card),
                        status.state == State::blocked ? "locked" : "ok", report_of(ctx, status),
                        describe(status));
}

int check_and_verify(const Context& ctx, const LoginOptions& options, Card& card,
                     ApduExchanger& exchanger, const Secret& pin) {
    (void)piv::select(exchanger);
    card.reference = piv::pin_to_verify(read_discovery(exchanger));
    PinCounter before = counter_now(exchanger, card);
    if (before.state == State::blocked) {
        ctx.out.note_failure(located(
            Error(ErrorDomain::status_word, before.sw, "verify the " + pin_name(card.reference)),
            card));
        return report_login(ctx, options, subject_of(card), "locked", report_of(ctx, before),
                            describe(before));
    }
    std::optional<std::string> risk = guard_reason(before, ctx.config.lockout_threshold);
    if (risk && !options.force) {
        note_refusal(ctx, "piv", *risk, located(Error(CoreCode::lockout_guard, "log in"), card));
        std::string why = before.state == State::count_unknown
                              ? "refused: the card does not say how many tries are left, so the "
                                "next wrong PIN could block it; make sure of the PIN, then "
                                "repeat with --force"
                              : std::string(kRefusedFinalTry);
        return report_login(ctx, options, subject_of(card), "refused", report_of(ctx, before),
                            describe(before), why);
    }
    return verify(ctx, options, card, exchanger, pin);
}

}  // namespace

int run_login_pcsc(Context& ctx, LoginOptions& options) {
    if (options.so) {
        throw Error(CoreCode::usage, "read the options",
                    "--so has no meaning with --pcsc: a PIV card's PUK is not verified on its "
                    "own (SP 800-73-4 lets VERIFY check only the PINs); it only unblocks or "
                    "changes the PIN");
    }
    if (!ctx.options.slot.empty() || !ctx.options.token.empty()) {
        throw Error(CoreCode::usage, "read the options",
                    "--slot and --token choose a PKCS#11 token; with --pcsc the card is the "
                    "one in the reader --reader chooses");
    }
    if (options.check)
        return check_status(ctx, options);
    // Without a PIN pad to fall back on, read_pin gives a PIN or throws.
    std::optional<Secret> pin = read_pin(options.pin, false, "PIV PIN");
    piv::check_pin_format(*pin);
    pcsc::Context pcsc_context;
    Card card;
    card.reader = select_reader(pcsc_context, ctx.options.reader);
    pcsc::CardHandle handle(pcsc_context, card.reader, pcsc::ShareMode::shared);
    card.atr = handle.status().atr;
    pcsc::PcscChannel channel(handle);
    ExchangeOptions exchange_options;
    exchange_options.max_apdu_size = pcsc::max_apdu_size(handle);
    ApduExchanger exchanger(channel, exchange_options);
    pcsc::Transaction transaction = handle.begin_transaction();
    return check_and_verify(ctx, options, card, exchanger, *pin);
}

}  // namespace cac::cli
