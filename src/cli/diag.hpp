// `cactool diag`: the checks, what they share, and how each one is reported.
//
// Every check runs, whatever the ones before found: a check that needs what an earlier
// one could not give (a PC/SC context, a loaded module, a token) reports `skip` with the
// reason, so the report always says everything that can be said about the workstation.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cli/certs.hpp"
#include "cli/context.hpp"
#include "cli/diag_judge.hpp"
#include "cli/pin_input.hpp"
#include "core/pcsc/context.hpp"
#include "core/pcsc/reader.hpp"
#include "core/pkcs11/discovery.hpp"
#include "core/pkcs11/module.hpp"
#include "core/pkcs11/slots.hpp"
#include "core/util/in_flight.hpp"
#include "core/x509/chain.hpp"

namespace cac::cli {

struct DiagOptions {
    bool strict = false;
    std::string ca_file;
    std::string ca_dir;
    // --sign-test, with the PIN's source and the lockout guard's override (diag_sign.cpp).
    bool sign_test = false;
    bool force = false;
    PinOptions pin;
};

// A module the checks could load, with where it came from.
struct LoadedModule {
    ModuleChoice choice;
    Module module;
};

// What the checks learn and later checks use.
struct DiagState {
    DiagState(const Context& c, const DiagOptions& o) : ctx(c), options(o) {}

    const Context& ctx;
    const DiagOptions& options;
    // --ca-file / --ca-dir, else the config's trust anchors; none when neither is given.
    std::optional<TrustAnchors> anchors;

    std::optional<pcsc::Context> pcsc;
    std::optional<std::vector<pcsc::Reader>> readers;  // set once they could be read
    // The module tokens are looked for in: --module, else the one discovery chooses.
    std::optional<LoadedModule> module;
    std::string module_problem;  // why there is none
    std::vector<Slot> slots;
    bool slots_read = false;

    // Adds a result for `id`; its duration is the time since the check began. Ignored
    // once the report is closed.
    void report(std::string id, CheckStatus status, std::string message, std::string hint = {},
                std::string subject = {});
    // The duration of every result reported from now on is measured from here.
    void begin_check();
    // The results so far. With `close`, no result is taken after these: the checks' thread
    // may still be stuck in a call, and what it would add once the call returns comes too
    // late for the report.
    std::vector<CheckResult> results(bool close = false);
    // How long the check under way has run.
    std::int64_t check_duration_ms();

    // The checks' thread and the one that may give up on it (run_checks) must agree on
    // one thing: a PIN is never presented once the run is given up on, and the run is
    // never given up on while a PIN is being verified (the card counts the try whether
    // or not anyone hears its answer). Both sides decide under the same lock:
    // - hold_for_pin() before presenting a PIN: null when the run is given up on (then
    //   present nothing); else a hold, kept until the verification has ended;
    // - close_unless_verifying() to give up: false while a verification is held.
    std::unique_ptr<in_flight::MustFinish> hold_for_pin();
    bool close_unless_verifying();
    bool closed();

  private:
    std::mutex mutex_;  // the checks run on a thread of their own; see run_diag
    std::vector<CheckResult> results_;
    bool closed_ = false;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

// Adds a result a judge_ function made; its duration is the time since the check began.
inline void report(DiagState& state, CheckResult result) {
    state.report(std::move(result.id), result.status, std::move(result.message),
                 std::move(result.hint), std::move(result.subject));
}

// The PC/SC side (diag_pcsc.cpp): pcscd, readers, cards.
void check_pcscd(DiagState& state);
void check_readers(DiagState& state);
void check_cards(DiagState& state);
// The PKCS#11 side (diag_pkcs11.cpp): modules, tokens against cards, PIN status.
void check_modules(DiagState& state);
void check_tokens(DiagState& state);
void check_pin_status(DiagState& state);
// Certificates on the tokens (diag_certs.cpp), and the error journal.
void check_certificates(DiagState& state);
void check_journal(DiagState& state);
// --sign-test (diag_sign.cpp): a login, then a signature by each key verified with its
// certificate. Reports nothing without the option.
void check_sign_test(DiagState& state);
void add_sign_test_options(CLI::App& app, DiagOptions& options);
// A usage error for --pin, for several PIN sources, or for a PIN source or --force
// without --sign-test.
void check_sign_test_options(DiagOptions& options);
// The certificates a card holds read over PC/SC against its token's (diag_cross.cpp).
void check_certificate_views(DiagState& state);

// A token with CKF_TOKEN_INITIALIZED: one that can be opened and has objects to look at
// (SoftHSM2 always offers one more, uninitialised, whose sessions fail).
bool token_initialised(const Slot& slot);
// The module's slot for a PC/SC reader: the slot whose description is the reader's name.
const Slot* slot_of_reader(const std::vector<Slot>& slots, const std::string& reader);
// Every certificate object of a session's token, read and summarized as of now.
std::vector<Listed> read_token_certificates(const Cryptoki& cryptoki, CK_SESSION_HANDLE session);

}  // namespace cac::cli
