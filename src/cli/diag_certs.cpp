// diag's checks of the certificates on each token (validity, usage, private key, chain)
// and of the error journal's last day.
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <ctime>

#include "cli/certs.hpp"
#include "cli/diag.hpp"
#include "core/pkcs11/objects.hpp"
#include "core/pkcs11/session.hpp"
#include "core/recovery/report.hpp"

namespace cac::cli {
namespace {

std::string name_of(const Listed& l) {
    if (l.object.label && !l.object.label->empty())
        return *l.object.label;
    return l.summary ? l.summary->subject : "(no label)";
}

// CKA_ID ties a certificate to its key (PKCS#11 4.6.3). Without a login a token may hide
// its private keys, and then a missing one says nothing.
void check_private_key(DiagState& state, const Listed& l, const std::vector<Bytes>& key_ids,
                       bool keys_visible) {
    std::string name = name_of(l);
    bool found = l.object.id && !l.object.id->empty() &&
                 std::find(key_ids.begin(), key_ids.end(), *l.object.id) != key_ids.end();
    if (found) {
        state.report("private_key", CheckStatus::pass, "the private key is on the token", {}, name);
    } else if (!keys_visible) {
        state.report("private_key", CheckStatus::skip,
                     "unknown: the token hides its private keys until login (--sign-test "
                     "signs with each key)",
                     {}, name);
    } else if (l.summary && l.summary->is_ca) {
        state.report("private_key", CheckStatus::skip, "a CA certificate: no key expected", {},
                     name);
    } else {
        state.report("private_key", CheckStatus::fail,
                     "no private key has this certificate's CKA_ID",
                     "the key was not loaded with the certificate, or was deleted: have the card "
                     "re-issued",
                     name);
    }
}

// What to do about a chain that does not verify depends on why: a missing issuer is the
// anchors' business, a date the certificates' own.
std::string chain_hint(int error) {
    switch (error) {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            return "give the CA certificates of the card's issuer with --ca-file or --ca-dir (or "
                   "trust_anchors in the config file)";
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID:
            return "a certificate of the chain is out of its validity period: check the clock, and "
                   "have the expired certificate renewed";
        default:
            return "'cactool certs --validate' shows the chain as far as it was built";
    }
}

void check_chain(DiagState& state, const Listed& l) {
    if (!l.validation)
        return;
    if (l.validation->ok) {
        state.report("certificate_chain", CheckStatus::pass, "the chain reaches a trust anchor", {},
                     name_of(l));
    } else {
        state.report("certificate_chain", CheckStatus::fail,
                     "the chain does not reach a trust anchor: " + l.validation->error_text,
                     chain_hint(l.validation->error), name_of(l));
    }
}

void check_usage(DiagState& state, const std::vector<Listed>& listed, const std::string& token) {
    std::vector<std::string> fit;
    for (const Listed& l : listed) {
        if (l.summary && !l.summary->is_ca && fit_for_logon(*l.summary))
            fit.push_back(name_of(l));
    }
    if (fit.empty()) {
        state.report("certificate_usage", CheckStatus::warn,
                     "no certificate is fit for smart card logon or client authentication",
                     "the card can sign or encrypt, but not log on: ask the issuer for a "
                     "certificate with the smart card logon or client authentication purpose",
                     token);
        return;
    }
    std::string names;
    for (const std::string& n : fit)
        names += (names.empty() ? "" : ", ") + n;
    state.report("certificate_usage", CheckStatus::pass,
                 "fit for smart card logon or client authentication: " + names, {}, token);
}

void check_token_certificates(DiagState& state, const Slot& slot) {
    const TokenInfo& token = *slot.token;
    const Cryptoki& cryptoki = state.module->module.cryptoki();
    std::vector<Listed> listed;
    std::vector<Bytes> key_ids;
    try {
        Session session(cryptoki, slot.id);
        listed = read_token_certificates(cryptoki, session.handle());
        key_ids = private_key_ids(cryptoki, session.handle());
    } catch (const Error& e) {
        state.report("certificates", CheckStatus::fail, e.message(), e.hint(), token.label);
        return;
    }
    if (listed.empty()) {
        state.report("certificates", CheckStatus::warn, "no certificate on the token",
                     "a card without certificates cannot log on or sign: it may not be issued "
                     "yet, or the module may not read its certificates",
                     token.label);
        return;
    }
    state.report("certificates", CheckStatus::pass,
                 std::to_string(listed.size()) + " certificate" + (listed.size() == 1 ? "" : "s"),
                 {}, token.label);
    if (state.anchors)
        validate_all(listed, *state.anchors, std::time(nullptr));
    bool keys_visible = (token.flags & CKF_LOGIN_REQUIRED) == 0;
    for (const Listed& l : listed) {
        if (!l.summary) {
            state.report("certificate_validity", CheckStatus::fail,
                         "cannot be read: " + l.error.value_or("unknown"),
                         "the certificate on the card is damaged: have the card re-issued",
                         name_of(l));
            continue;
        }
        report(state, judge_validity(*l.summary, name_of(l)));
        check_private_key(state, l, key_ids, keys_visible);
        check_chain(state, l);
    }
    check_usage(state, listed, token.label);
}

std::string recurring_text(const std::vector<Pattern>& patterns) {
    if (patterns.empty())
        return "";
    const Pattern& p = patterns.front();
    return "; recurring: " + p.code + " in " + p.operation + " (" + std::to_string(p.failures) +
           " times)";
}

}  // namespace

std::vector<Listed> read_token_certificates(const Cryptoki& cryptoki, CK_SESSION_HANDLE session) {
    std::vector<Listed> listed;
    std::time_t now = std::time(nullptr);
    for (CK_OBJECT_HANDLE handle : certificate_handles(cryptoki, session)) {
        Listed l{read_certificate(cryptoki, session, handle), {}, {}, {}, {}, true};
        summarize(l, now);
        listed.push_back(std::move(l));
    }
    return listed;
}

void check_certificates(DiagState& state) {
    if (!state.slots_read) {
        state.report("certificates", CheckStatus::skip, "no token could be read");
        return;
    }
    bool any = false;
    for (const Slot& slot : state.slots) {
        if (!slot.token)
            continue;
        any = true;
        if (!token_initialised(slot)) {
            state.report("certificates", CheckStatus::skip, "token not initialised", {},
                         "slot " + std::to_string(slot.id));
            continue;
        }
        check_token_certificates(state, slot);
    }
    if (!any) {
        state.report("certificates", CheckStatus::skip, "the module shows no token");
        return;
    }
    if (!state.anchors) {
        state.report("certificate_chain", CheckStatus::skip,
                     "no trust anchors given (--ca-file, --ca-dir, or trust_anchors in the "
                     "config file)");
    }
}

void check_journal(DiagState& state) {
    std::string path = state.ctx.journal_location();
    if (path.empty()) {
        state.report("journal", CheckStatus::skip, "no error journal is kept (--no-journal)");
        return;
    }
    auto now = std::chrono::system_clock::now();
    ReportFilter filter;
    filter.since = now - std::chrono::hours(24);
    ReportAggregator report(filter, PatternRule{});
    try {
        scan_journal(path, false, [&](const JournalRecord& record) { report.add(record); });
    } catch (const Error& e) {
        std::string hint = e.hint();
        if (hint.empty())
            hint =
                "--journal, CACTOOL_JOURNAL or the configuration's journal names what cannot "
                "be read as a journal; point it at a file";
        state.report("journal", CheckStatus::warn, e.message(), hint, path);
        return;
    }
    std::uint64_t failures = report.totals().failures();
    if (failures == 0) {
        state.report("journal", CheckStatus::pass, "no error recorded in the last 24 hours", {},
                     path);
        return;
    }
    // The code with the most failures (by_code() ranks by records, recovery attempts
    // included), and the hint of that very code: the most frequent hint overall may
    // belong to other codes that merely tie with it.
    std::vector<CodeBucket> codes = report.by_code();
    const CodeBucket& top =
        *std::max_element(codes.begin(), codes.end(), [](const CodeBucket& a, const CodeBucket& b) {
            return a.tally.failures() < b.tally.failures();
        });
    std::string message = std::to_string(failures) + " error" + (failures == 1 ? "" : "s") +
                          " in the last 24 hours, most often " + top.code + " (" +
                          std::to_string(top.tally.failures()) + ")" +
                          recurring_text(report.patterns());
    std::string hint(lookup_taxonomy(top.domain, top.value).hint);
    if (!hint.empty())
        hint += "; ";
    state.report("journal", CheckStatus::warn, message,
                 hint + "'cactool errors-report --since 24h' tells more", path);
}

}  // namespace cac::cli
