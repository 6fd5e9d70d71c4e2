// `cactool diag`: runs every check of the stack in order and reports each one, with a
// hint for what is wrong. The checks themselves live in diag_pcsc.cpp, diag_pkcs11.cpp
// and diag_certs.cpp; this file runs them and writes the report.
#include "cli/diag.hpp"

#include <array>
#include <condition_variable>
#include <exception>
#include <memory>
#include <thread>

#include "cli/certs.hpp"
#include "cli/commands.hpp"
#include "core/util/in_flight.hpp"
#include "core/util/watchdog.hpp"

namespace cac::cli {

std::string_view to_string(CheckStatus status) {
    switch (status) {
        case CheckStatus::pass:
            return "pass";
        case CheckStatus::warn:
            return "warn";
        case CheckStatus::fail:
            return "fail";
        case CheckStatus::skip:
            return "skip";
    }
    return "skip";
}

namespace {

std::int64_t ms_since(std::chrono::steady_clock::time_point start) {
    auto elapsed = std::chrono::steady_clock::now() - start;
    return std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
}

}  // namespace

void DiagState::report(std::string id, CheckStatus status, std::string message, std::string hint,
                       std::string subject) {
    std::lock_guard lock(mutex_);
    if (closed_)
        return;
    results_.push_back(CheckResult{std::move(id), status, std::move(message), std::move(hint),
                                   std::move(subject), ms_since(started_)});
}

void DiagState::begin_check() {
    std::lock_guard lock(mutex_);
    started_ = std::chrono::steady_clock::now();
}

std::vector<CheckResult> DiagState::results(bool close) {
    std::lock_guard lock(mutex_);
    closed_ = closed_ || close;
    return results_;
}

std::unique_ptr<in_flight::MustFinish> DiagState::hold_for_pin() {
    std::lock_guard lock(mutex_);
    if (closed_)
        return nullptr;
    return std::make_unique<in_flight::MustFinish>();
}

bool DiagState::close_unless_verifying() {
    std::lock_guard lock(mutex_);
    if (in_flight::must_finish())
        return false;
    closed_ = true;
    return true;
}

bool DiagState::closed() {
    std::lock_guard lock(mutex_);
    return closed_;
}

std::int64_t DiagState::check_duration_ms() {
    std::lock_guard lock(mutex_);
    return ms_since(started_);
}

namespace {

using Check = void (*)(DiagState&);

struct Step {
    std::string_view id;  // the id of the check's first result, for a check that never ends
    Check run;
};

// The checks that call into pcscd and PKCS#11 modules, in order: each may use what the
// ones before it learnt. Any of these calls may never return (a module stuck in
// C_Initialize, a reader holding back a card's answer), so they run on a thread of their
// own under the time bound; see run_checks.
constexpr std::array<Step, 9> stack_steps{{{"pcscd", check_pcscd},
                                           {"readers", check_readers},
                                           {"card", check_cards},
                                           {"module", check_modules},
                                           {"token", check_tokens},
                                           {"pin_status", check_pin_status},
                                           {"certificates", check_certificates},
                                           {"certificate_views", check_certificate_views},
                                           {"login", check_sign_test}}};
// Checks of local files only, run after those whatever became of them.
constexpr std::array<Step, 1> local_steps{{{"journal", check_journal}}};

Json check_json(const CheckResult& r) {
    return Json{{"id", r.id},
                {"status", to_string(r.status)},
                {"message", r.message},
                {"hint", r.hint.empty() ? Json() : Json(r.hint)},
                {"duration_ms", r.duration_ms},
                {"subject", r.subject.empty() ? Json() : Json(r.subject)}};
}

std::string status_word(const Output& out, CheckStatus status) {
    switch (status) {
        case CheckStatus::pass:
            return out.good("pass");
        case CheckStatus::warn:
            return out.warn("warn");
        case CheckStatus::fail:
            return out.bad("fail");
        case CheckStatus::skip:
            return "skip";
    }
    return "skip";
}

// One aligned line per check, its hint under it when the check failed or warned.
std::string report_text(const Output& out, const std::vector<CheckResult>& results) {
    std::size_t width = 0;
    for (const CheckResult& r : results)
        width = std::max(width, r.id.size());
    std::string text;
    for (const CheckResult& r : results) {
        std::string id = r.id + std::string(width - r.id.size(), ' ');
        std::string about = r.subject.empty() ? "" : terminal_safe(r.subject) + ": ";
        text +=
            status_word(out, r.status) + "  " + id + "  " + about + terminal_safe(r.message) + "\n";
        bool problem = r.status == CheckStatus::fail || r.status == CheckStatus::warn;
        if (problem && !r.hint.empty())
            text += std::string(6 + width + 2, ' ') + "hint: " + terminal_safe(r.hint) + "\n";
    }
    return text;
}

std::array<int, 4> tally(const std::vector<CheckResult>& results) {
    std::array<int, 4> counts{};
    for (const CheckResult& r : results)
        ++counts[std::size_t(r.status)];
    return counts;
}

std::optional<TrustAnchors> diag_anchors(const Context& ctx, const DiagOptions& options) {
    CertsOptions certs;
    certs.ca_file = options.ca_file;
    certs.ca_dir = options.ca_dir;
    bool configured = ctx.config.ca_file || ctx.config.ca_dir;
    if (certs.ca_file.empty() && certs.ca_dir.empty() && !configured)
        return std::nullopt;
    return load_anchors(ctx, certs);
}

// The result for a check whose call never returned, naming the call and the layer it
// belongs to: this is the diagnosis ("the module hangs"), not a failure of diag itself.
Error stuck_error(const Context& ctx) {
    const char* call = in_flight::call();
    std::string operation = call ? call : "finish the check";
    return Error(CoreCode::timed_out, operation,
                 "no answer within the time bound (" + ctx.time_bound_text() + ")");
}

std::string stuck_hint(std::string_view call) {
    if (call.starts_with("C_")) {
        return "the PKCS#11 module, or the card behind it, stopped answering: take the card "
               "out and put it back, restart pcscd, or try another build of the module; "
               "--timeout sets how long diag waits";
    }
    return "pcscd or the reader stopped answering: take the card out and put it back, "
           "unplug and replug the reader, or restart pcscd; --timeout sets how long diag "
           "waits";
}

// The time spent on cards and modules since `start`, as the --timeout watchdog counts
// it: waiting for a person to type a PIN is not the card's time.
Watchdog::Clock::duration time_used(Watchdog::Clock::time_point start,
                                    Watchdog::Clock::duration waited_at_start) {
    auto waited = in_flight::time_waiting_for_person() - waited_at_start;
    return Watchdog::Clock::now() - start - waited;
}

// Runs stack_steps on a thread of their own and waits for them within the time bound.
// Returns the step that did not finish (its call still in flight; stack_steps.size() for
// the closing of the module and PC/SC), or nullopt when they all did. A check's own error it cannot
// handle is rethrown here.
//
// The --timeout watchdog would also end a stuck run, but by replacing the report with one
// error, losing every check already done; here the stuck check becomes a failed check of
// the report. The watchdog acts a little after the bound, so it stays the last resort.
std::optional<std::size_t> run_checks(const Context& ctx, DiagState& state) {
    using Clock = Watchdog::Clock;
    struct Progress {
        std::mutex mutex;
        std::condition_variable done_changed;
        std::size_t current = 0;
        bool done = false;
        std::exception_ptr error;
    };
    // Shared with the thread, which may outlive this function when it is stuck: the run
    // then ends without returning (see run_diag), so nothing here is destroyed under it.
    auto progress = std::make_shared<Progress>();
    std::thread worker([&state, progress] {
        std::exception_ptr error;
        try {
            for (std::size_t i = 0; i < stack_steps.size(); ++i) {
                {
                    std::lock_guard lock(progress->mutex);
                    progress->current = i;
                }
                // Given up on: the report is written without this thread, which must not
                // go on to work the report says was not done (a login above all).
                if (state.closed())
                    return;
                state.begin_check();
                stack_steps[i].run(state);
            }
            if (state.closed())
                return;
            // Closing the module (C_Finalize) and the PC/SC context may hang as well as
            // any other call: done here, under the same bound, rather than by the
            // destructors after the report, where nothing would bound them.
            {
                std::lock_guard lock(progress->mutex);
                progress->current = stack_steps.size();
            }
            state.begin_check();
            state.module.reset();
            state.pcsc.reset();
        } catch (...) {
            error = std::current_exception();
        }
        std::lock_guard lock(progress->mutex);
        progress->error = error;
        progress->done = true;
        progress->done_changed.notify_all();
    });

    auto budget = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(ctx.timeout_seconds));
    Clock::time_point start = Clock::now();
    Clock::duration waited_at_start = in_flight::time_waiting_for_person();
    // After a verification that ended past the bound, the checks get this long to report
    // it before they are given up on, as the watchdog allows.
    Clock::time_point report_until = start;
    std::unique_lock lock(progress->mutex);
    while (!progress->done) {
        Clock::duration left = budget - time_used(start, waited_at_start);
        // A PIN verification under way must be let finish (the card counts the try
        // whatever happens to the answer), and a person typing a PIN is not late: the
        // watchdog's own allowances apply to those.
        bool may_wait = in_flight::must_finish() || in_flight::waiting_for_person();
        if (left <= Clock::duration::zero() && may_wait)
            report_until = Clock::now() + Watchdog::Allowances{}.after_must_finish;
        if (left <= Clock::duration::zero() && !may_wait && Clock::now() >= report_until &&
            state.close_unless_verifying())
            break;
        Clock::duration step = std::chrono::milliseconds(50);
        progress->done_changed.wait_for(lock, left > step ? left : step);
    }
    if (!progress->done) {
        worker.detach();
        return progress->current;
    }
    lock.unlock();
    worker.join();
    if (progress->error)
        std::rethrow_exception(progress->error);
    return std::nullopt;
}

void write_report(const Context& ctx, const std::vector<CheckResult>& results,
                  const std::array<int, 4>& counts) {
    if (ctx.out.json()) {
        Json list = Json::array();
        for (const CheckResult& r : results)
            list.push_back(check_json(r));
        ctx.out.document(Json{{"checks", list},
                              {"summary",
                               {{"pass", counts[0]},
                                {"warn", counts[1]},
                                {"fail", counts[2]},
                                {"skip", counts[3]}}}});
        return;
    }
    ctx.out.text_result(report_text(ctx.out, results) + std::to_string(counts[0]) + " passed, " +
                        std::to_string(counts[1]) + " warned, " + std::to_string(counts[2]) +
                        " failed, " + std::to_string(counts[3]) + " skipped\n");
}

int run_diag(Context& ctx, const DiagOptions& options) {
    DiagState state(ctx, options);
    // Anchors that cannot be read are a bad option value, said before any check runs.
    state.anchors = diag_anchors(ctx, options);
    std::optional<std::size_t> stuck = run_checks(ctx, state);
    std::optional<Error> stuck_call;
    if (stuck) {
        stuck_call = stuck_error(ctx);
        std::string call = stuck_call->operation();
        std::int64_t ms = state.check_duration_ms();
        std::vector<CheckResult> done = state.results(true);
        // Closing what the checks opened counts as the module's.
        std::string stuck_id(*stuck < stack_steps.size() ? stack_steps[*stuck].id : "module");
        // The sign test reports its login and then one signature per key: a call stuck in
        // signing belongs to the signature.
        if (*stuck < stack_steps.size() && stack_steps[*stuck].run == check_sign_test &&
            call.starts_with("C_Sign")) {
            stuck_id = "signature";
        }
        done.push_back(CheckResult{
            stuck_id, CheckStatus::fail, stuck_call->message(), stuck_hint(call), {}, ms});
        for (std::size_t i = *stuck + 1; i < stack_steps.size(); ++i) {
            // Without --sign-test its checks report nothing, not even a skip.
            if (stack_steps[i].run == check_sign_test && !options.sign_test)
                continue;
            done.push_back(CheckResult{std::string(stack_steps[i].id),
                                       CheckStatus::skip,
                                       "not run: the " + stuck_id + " check never finished",
                                       {},
                                       {},
                                       0});
        }
        // The checks' thread is gone for good; the local checks report into a state of
        // their own.
        DiagState local(ctx, options);
        for (const Step& step : local_steps) {
            local.begin_check();
            step.run(local);
        }
        std::vector<CheckResult> more = local.results();
        done.insert(done.end(), more.begin(), more.end());
        write_report(ctx, done, tally(done));
        // The stuck call is an error of this workstation like any other: journaled.
        ctx.out.note_failure(*stuck_call);
        // The thread is still inside the module or PC/SC: a normal exit would run exit
        // handlers (the module's among them) that may wait for that very call, so the run
        // ends here, as the watchdog would end it. pcscd releases the card.
        std::_Exit(finish_output(exit_diag_failed));
    }
    for (const Step& step : local_steps) {
        state.begin_check();
        step.run(state);
    }
    std::vector<CheckResult> results = state.results(true);
    std::array<int, 4> counts = tally(results);
    write_report(ctx, results, counts);
    bool failed = counts[std::size_t(CheckStatus::fail)] > 0 ||
                  (options.strict && counts[std::size_t(CheckStatus::warn)] > 0);
    return failed ? exit_diag_failed : exit_ok;
}

}  // namespace

Runner setup_diag(CLI::App& app) {
    auto options = std::make_shared<DiagOptions>();
    app.add_flag("--strict", options->strict, "Exit 8 when a check warned, not only failed");
    app.add_option("--ca-file", options->ca_file,
                   "Trust anchors for the chain check: a PEM, DER or PKCS#7 file")
        ->check(nonempty_value());
    app.add_option("--ca-dir", options->ca_dir,
                   "Trust anchors for the chain check: a directory of certificates")
        ->check(nonempty_value());
    add_sign_test_options(app, *options);
    return [options](Context& ctx) {
        check_sign_test_options(*options);
        return run_diag(ctx, *options);
    };
}

}  // namespace cac::cli
