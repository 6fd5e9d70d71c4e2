// What `login` over PKCS#11 (login.cpp) and `login --pcsc` (login_pcsc.cpp) share: the
// options, the one report both write, and the lockout guard's refusal.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cli/context.hpp"
#include "cli/pin_input.hpp"
#include "core/util/error.hpp"

namespace cac::cli {

struct LoginOptions {
    bool so = false;
    bool check = false;
    bool force = false;
    bool pcsc = false;
    PinOptions pin;
};

// The PIN's status as the report gives it (the "pin_status" object).
struct PinReport {
    std::optional<int> retries_left;  // null when the card or token does not say
    bool count_low = false;
    bool final_try = false;
    bool locked = false;
};

// What the login was about: the report's own keys for it (a token, or a reader and its
// card), and the words for a line of text ("token PIV_II: user PIN").
struct LoginSubject {
    Json fields;
    std::string text;
};

// What a refused login says on its own line, after the verdict.
inline constexpr std::string_view kRefusedFinalTry =
    "refused: one more wrong PIN could block the card; make sure of the PIN, then repeat "
    "with --force";

// The login's document, or its line of text; returns the exit code of `result` ("ok",
// "incorrect", "locked", "refused"). `described` says in words what the status means;
// `why_refused` is printed on a refusal.
int report_login(const Context& ctx, const LoginOptions& options, const LoginSubject& subject,
                 std::string_view result, const PinReport& pin, const std::string& described,
                 std::string_view why_refused = kRefusedFinalTry);

// Logs why the guard refuses, and journals `refusal`: an Error(CoreCode::lockout_guard)
// that names the token or reader.
void note_refusal(const Context& ctx, std::string_view category, const std::string& why,
                  const Error& refusal);

// A usage error unless the options fit together (PIN sources, --check, --force).
void check_login_options(LoginOptions& options);

int run_login_pcsc(Context& ctx, LoginOptions& options);

}  // namespace cac::cli
