// `cactool diag`: runs every check of the stack in order and reports each one, with a
// hint for what is wrong. The checks themselves live in diag_pcsc.cpp, diag_pkcs11.cpp
// and diag_certs.cpp; this file runs them and writes the report.
#include "cli/diag.hpp"

#include <array>
#include <memory>

#include "cli/certs.hpp"
#include "cli/commands.hpp"

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

void DiagState::report(std::string id, CheckStatus status, std::string message, std::string hint,
                       std::string subject) {
    auto elapsed = std::chrono::steady_clock::now() - started_;
    std::int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
    results.push_back(CheckResult{std::move(id), status, std::move(message), std::move(hint),
                                  std::move(subject), ms});
}

namespace {

using Check = void (*)(DiagState&);

// The order matters: each check may use what the ones before it learnt.
constexpr std::array<Check, 8> checks{check_pcscd,        check_readers, check_cards,
                                      check_modules,      check_tokens,  check_pin_status,
                                      check_certificates, check_journal};

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
void print_report(const Output& out, const std::vector<CheckResult>& results) {
    std::size_t width = 0;
    for (const CheckResult& r : results)
        width = std::max(width, r.id.size());
    for (const CheckResult& r : results) {
        std::string id = r.id + std::string(width - r.id.size(), ' ');
        std::string about = r.subject.empty() ? "" : terminal_safe(r.subject) + ": ";
        out.text(status_word(out, r.status) + "  " + id + "  " + about + terminal_safe(r.message));
        bool problem = r.status == CheckStatus::fail || r.status == CheckStatus::warn;
        if (problem && !r.hint.empty())
            out.text(std::string(6 + width + 2, ' ') + "hint: " + terminal_safe(r.hint));
    }
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

int run_diag(Context& ctx, const DiagOptions& options) {
    DiagState state(ctx, options);
    // Anchors that cannot be read are a bad option value, said before any check runs.
    state.anchors = diag_anchors(ctx, options);
    for (Check check : checks) {
        state.begin_check();
        check(state);
    }
    std::array<int, 4> counts{};
    for (const CheckResult& r : state.results)
        ++counts[std::size_t(r.status)];
    if (ctx.out.json()) {
        Json list = Json::array();
        for (const CheckResult& r : state.results)
            list.push_back(check_json(r));
        ctx.out.document(Json{{"checks", list},
                              {"summary",
                               {{"pass", counts[0]},
                                {"warn", counts[1]},
                                {"fail", counts[2]},
                                {"skip", counts[3]}}}});
    } else {
        print_report(ctx.out, state.results);
        ctx.out.text(std::to_string(counts[0]) + " passed, " + std::to_string(counts[1]) +
                     " warned, " + std::to_string(counts[2]) + " failed, " +
                     std::to_string(counts[3]) + " skipped");
    }
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
    return [options](Context& ctx) { return run_diag(ctx, *options); };
}

}  // namespace cac::cli
