// `cactool login`: verifies a PIN through PKCS#11, or only reports its status; with
// --pcsc, by PIV VERIFY over PC/SC instead (login_pcsc.cpp).
//
// A wrong PIN costs the card one of a few tries, and the last one blocks it. So this
// command never retries a failed login, and refuses to try at all when the token says
// the next failure could be the last (unless --force).
#include <memory>

#include "cli/commands.hpp"
#include "cli/login.hpp"
#include "cli/token_selection.hpp"
#include "core/card/pin_policy.hpp"
#include "core/pkcs11/session.hpp"
#include "core/util/log.hpp"

namespace cac::cli {
namespace {

const PinStatus& pin_of(const TokenInfo& token, bool so) {
    return so ? token.so_pin : token.user_pin;
}

PinReport report_of(const PinStatus& pin) {
    return PinReport{retries_left(pin), pin.count_low, pin.final_try, pin.locked};
}

// The status after a login attempt; the token's flags change with the attempt.
PinStatus status_now(const TokenInModule& found, bool so) {
    Slot fresh = read_slot(found.module.cryptoki(), found.slot->id);
    return fresh.token ? pin_of(*fresh.token, so) : pin_of(found.token(), so);
}

// After a successful login. PKCS#11 defines the count-low and final-try flags as wrong
// PINs entered since the last successful authentication, which has just happened; some
// modules (OpenSC's PIV driver among them) still report the flags they cached before, and
// "one try left" right after a correct PIN would send an operator the wrong way.
PinStatus status_after_success(const TokenInModule& found, bool so) {
    PinStatus pin = status_now(found, so);
    if (pin.count_low || pin.final_try) {
        log::debug("pkcs11",
                   "the module still reports failed PIN tries after a successful "
                   "login; a successful login resets them, so they are cleared");
        pin.count_low = false;
        pin.final_try = false;
    }
    return pin;
}

// An SO login on a token of OpenSC's PIV driver (which names itself "piv_II" as the
// token's manufacturer) cannot succeed: the driver offers the card's PUK as the SO PIN
// and sends it in a VERIFY, but NIST SP 800-73-4 (part 2, 3.2.1) lets VERIFY check only
// the PINs, and the PUK serves only RESET RETRY COUNTER and CHANGE REFERENCE DATA. The
// card answers 6A88, which OpenSC reports as CKR_GENERAL_ERROR: worth saying so, since
// the taxonomy's hint for that code sends the operator to the module's log.
Error explained_so_failure(const Error& error, const TokenInfo& token) {
    Error explained = error;
    if (error.is(ErrorDomain::pkcs11, CKR_GENERAL_ERROR) && token.manufacturer == "piv_II") {
        explained.with_hint(
            "OpenSC's PIV driver has no SO login: it offers the card's PUK as the SO PIN, "
            "and a PIV card does not verify its PUK on its own (the PUK only unblocks or "
            "changes the PIN); the card refused it without counting a try");
    }
    return explained;
}

// What the token's flags say, in words. After a wrong PIN the flags are mostly silent:
// PKCS#11 has no count of the tries left, only "low" and "final", and many modules set
// neither.
std::string describe(const PinStatus& pin, std::string_view result) {
    if (pin.locked)
        return "locked";
    if (pin.final_try)
        return "one try left: the next wrong PIN blocks it";
    if (result == "incorrect")
        return "the card did not say how many tries are left";
    if (pin.count_low)
        return "a wrong PIN was entered since the last good one";
    return "no wrong PIN reported";
}

int report(const Context& ctx, const TokenInModule& found, const LoginOptions& options,
           std::string_view result, const PinStatus& pin) {
    LoginSubject subject{Json{{"token", token_reference_json(found.token())}},
                         "token " + terminal_safe(found.token().label) + ": " +
                             (options.so ? "SO PIN" : "user PIN")};
    return report_login(ctx, options, subject, result, report_of(pin), describe(pin, result));
}

int run_login(Context& ctx, LoginOptions& options) {
    check_login_options(options);
    if (options.pcsc)
        return run_login_pcsc(ctx, options);
    TokenInModule found = open_selected_token(ctx);
    require_pin_initialized(found.token(), options.so);
    const PinStatus& before = pin_of(found.token(), options.so);
    if (options.check)
        return report(ctx, found, options, before.locked ? "locked" : "ok", before);
    if (before.locked) {
        ctx.out.note_failure(
            Error(ErrorDomain::pkcs11, CKR_PIN_LOCKED, "log in").with_token(found.token().label));
        return report(ctx, found, options, "locked", before);
    }
    if (login_could_lock(retries_left(before), ctx.config.lockout_threshold) && !options.force) {
        note_refusal(ctx, "pkcs11", "the token reports its final PIN try",
                     Error(CoreCode::lockout_guard, "log in").with_token(found.token().label));
        return report(ctx, found, options, "refused", before);
    }
    if (before.count_low)
        log::warning("pkcs11", std::string("the token reports a wrong ") +
                                   (options.so ? "SO" : "user") +
                                   " PIN since the last correct one");

    bool pin_pad = (found.token().flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
    std::optional<Secret> pin = read_pin(options.pin, pin_pad, options.so ? "SO PIN" : "user PIN");
    UserType user = options.so ? UserType::so : UserType::user;
    Session session(found.module.cryptoki(), found.slot->id,
                    options.so ? SessionAccess::read_write : SessionAccess::read_only);
    try {
        std::optional<Login> login;
        if (pin) {
            login.emplace(session, user, *pin);
        } else {
            login.emplace(session, user);
        }
    } catch (const Error& error) {
        // These are answers, reported in login's own document rather than as an error
        // document, but still failures worth keeping in the journal.
        if (error.is(ErrorDomain::pkcs11, CKR_PIN_INCORRECT)) {
            ctx.out.note_failure(error);
            return report(ctx, found, options, "incorrect", status_now(found, options.so));
        }
        if (error.is(ErrorDomain::pkcs11, CKR_PIN_LOCKED)) {
            ctx.out.note_failure(error);
            return report(ctx, found, options, "locked", status_now(found, options.so));
        }
        if (options.so)
            throw explained_so_failure(error, found.token());
        throw;
    }
    return report(ctx, found, options, "ok", status_after_success(found, options.so));
}

int exit_code_of(std::string_view result) {
    if (result == "ok")
        return exit_ok;
    if (result == "incorrect")
        return exit_auth_failed;
    return exit_pin_locked;  // locked, refused
}

}  // namespace

int report_login(const Context& ctx, const LoginOptions& options, const LoginSubject& subject,
                 std::string_view result, const PinReport& pin, const std::string& described,
                 std::string_view why_refused) {
    if (ctx.out.json()) {
        Json document{{"result", result},
                      {"pin_status",
                       Json{{"retries_left", pin.retries_left ? Json(*pin.retries_left) : Json()},
                            {"count_low", pin.count_low},
                            {"final_try", pin.final_try},
                            {"locked", pin.locked}}},
                      {"user", options.so ? "so" : "user"}};
        document.update(subject.fields);
        document["checked_only"] = options.check;
        ctx.out.document(document);
        return exit_code_of(result);
    }
    std::string verdict;
    if (options.check) {
        verdict = pin.locked ? ctx.out.bad("locked") : ctx.out.good("usable");
    } else if (result == "ok") {
        verdict = ctx.out.good("correct");
    } else if (result == "incorrect") {
        verdict = ctx.out.bad("incorrect");
    } else if (result == "locked") {
        verdict = ctx.out.bad("locked");
    } else {
        verdict = ctx.out.warn("not tried");
    }
    ctx.out.text(subject.text + " " + verdict + " (" + described + ")");
    if (result == "refused")
        ctx.out.text(std::string(why_refused));
    return exit_code_of(result);
}

void note_refusal(const Context& ctx, std::string_view category, const std::string& why,
                  const Error& refusal) {
    log::warning(category, "refusing to verify the PIN: " + why);
    ctx.out.note_failure(refusal);
}

void check_login_options(LoginOptions& options) {
    check_pin_options(options.pin);
    if (options.check && (options.pin.any_source() || options.force)) {
        throw Error(CoreCode::usage, "read the options",
                    "--check verifies nothing, so it takes no PIN source and no --force");
    }
}

Runner setup_login(CLI::App& app) {
    auto options = std::make_shared<LoginOptions>();
    app.add_flag("--so", options->so, "Verify the security officer PIN instead of the user's");
    app.add_flag("--check", options->check, "Only report the PIN's status; verify nothing");
    app.add_flag("--force", options->force,
                 "Try even when one more wrong PIN could block the card");
    app.add_flag("--pcsc", options->pcsc,
                 "Verify the PIV PIN with VERIFY over PC/SC (--reader), without a module");
    add_pin_options(app, options->pin);
    return [options](Context& ctx) { return run_login(ctx, *options); };
}

}  // namespace cac::cli
