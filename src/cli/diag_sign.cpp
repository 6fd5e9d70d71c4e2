// diag --sign-test: logs in to the token and signs 32 random bytes with each key that
// has a certificate, then verifies the signature with that certificate's public key.
//
// It proves what listing cannot: that the card's keys work, and that each key belongs to
// the certificate stored under its CKA_ID (PKCS#11 4.6.3 ties them by that id alone, and a
// card re-keyed without its certificates keeps the old ones). One PIN is tried once, on
// one token, under login's lockout guard; a key that wants the PIN again before each use
// (CKA_ALWAYS_AUTHENTICATE, the PIV key 9C) gets the same PIN, and once that PIN is refused
// nothing more is tried with it.
#include <optional>

#include "cli/diag.hpp"
#include "cli/login.hpp"
#include "core/card/pin_policy.hpp"
#include "core/pkcs11/mechanisms.hpp"
#include "core/pkcs11/objects.hpp"
#include "core/pkcs11/session.hpp"
#include "core/pkcs11/sign.hpp"
#include "core/pkcs11/uri.hpp"
#include "core/x509/signature.hpp"

namespace cac::cli {
namespace {

// Enough to make every signature unique to this run, as long as the SHA-256 input a
// token hashes or is handed.
constexpr std::size_t kChallengeBytes = 32;

bool pin_refused(const Error& e) {
    return e.is(ErrorDomain::pkcs11, CKR_PIN_INCORRECT) ||
           e.is(ErrorDomain::pkcs11, CKR_PIN_LOCKED);
}

std::string id_text(const Bytes& id) {
    return id.empty() ? "no id" : "id " + to_hex(id);
}

std::string cert_name(const CertificateObject& cert) {
    if (cert.label && !cert.label->empty())
        return *cert.label;
    return "certificate " + id_text(cert.id.value_or(Bytes{}));
}

std::string key_name(const PrivateKey& key) {
    std::string label = key.label && !key.label->empty() ? "\"" + *key.label + "\" " : "";
    return "key " + label + "(" + id_text(key.id) + ")";
}

// The one token the test is about: the one --token or --slot names, or the only one.
// Several fitting is a skip, not a guess: the PIN is tried on one token only.
const Slot* token_to_test(DiagState& state) {
    if (!state.slots_read) {
        state.report("login", CheckStatus::skip, "no token could be read");
        return nullptr;
    }
    std::vector<const Slot*> fitting;
    try {
        TokenSelector selector{state.ctx.slot_id(), state.ctx.options.token};
        CK_INFO module = state.module->module.info().raw;
        fitting = matching_tokens(state.slots, selector, &module);
    } catch (const Error& e) {
        state.report("login", CheckStatus::fail, e.message(), e.hint());
        return nullptr;
    }
    // A token not yet initialised (SoftHSM2 always offers one spare) has neither PIN nor
    // keys: it is no candidate, and must not turn the only real token into one of two.
    std::erase_if(fitting, [](const Slot* slot) {
        return !slot->token || (slot->token->flags & CKF_TOKEN_INITIALIZED) == 0;
    });
    if (fitting.empty()) {
        state.report("login", CheckStatus::skip, "no token to sign with (see the token check)");
        return nullptr;
    }
    if (fitting.size() > 1) {
        state.report("login", CheckStatus::skip,
                     std::to_string(fitting.size()) +
                         " tokens fit: the PIN is tried on one token only; choose it with "
                         "--token or --slot");
        return nullptr;
    }
    return fitting.front();
}

// The lockout guard of `login`: no PIN is presented to a blocked token, nor to one whose
// next failure could block it, unless --force.
bool may_log_in(DiagState& state, const TokenInfo& token) {
    const PinStatus& pin = token.user_pin;
    if ((token.flags & CKF_USER_PIN_INITIALIZED) == 0) {
        state.report("login", CheckStatus::skip, "the token has no user PIN", {}, token.label);
        return false;
    }
    if (pin.locked) {
        state.report("login", CheckStatus::fail, "not tried: the user PIN is blocked",
                     "unblock it with the PUK, or have the card's issuer reset it", token.label);
        return false;
    }
    if (login_could_lock(retries_left(pin), state.ctx.config.lockout_threshold) &&
        !state.options.force) {
        note_refusal(state.ctx, "pkcs11", "the token reports its final PIN try",
                     Error(CoreCode::lockout_guard, "log in").with_token(token.label));
        state.report("login", CheckStatus::warn,
                     "not tried: the token reports its final PIN try, and a wrong PIN would "
                     "block the card",
                     "make sure of the PIN, then repeat with --force", token.label);
        return false;
    }
    return true;
}

// The PIN from its source, or nullopt for the PIN pad; reports why when there is none.
bool read_user_pin(DiagState& state, const TokenInfo& token, std::optional<Secret>& pin) {
    bool pin_pad = (token.flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
    try {
        pin = read_pin(state.options.pin, pin_pad, "user PIN");
        return true;
    } catch (const Error& e) {
        state.report("login", CheckStatus::fail, e.message(),
                     "give the PIN with --pin-stdin, --pin-env VAR or --pin-file PATH, or run "
                     "diag on a terminal",
                     token.label);
        return false;
    }
}

void report_login_failure(DiagState& state, const TokenInfo& token, const Error& e) {
    // Like login's answers, a wrong or blocked PIN is kept in the journal.
    if (pin_refused(e))
        state.ctx.out.note_failure(Error(e).with_token(token.label));
    std::string message = e.message();
    if (e.is(ErrorDomain::pkcs11, CKR_PIN_INCORRECT))
        message = "the PIN is incorrect: the card counted one wrong try (not tried again)";
    state.report("login", CheckStatus::fail, message, e.hint(), token.label);
}

// The message to sign, as the mechanism wants it handed over.
Bytes signing_input(SignInput input, const Bytes& challenge) {
    if (input == SignInput::message)
        return challenge;
    Bytes digest = sha256_digest(challenge);
    return input == SignInput::digest_info ? sha256_digest_info(digest) : digest;
}

std::string no_mechanism_text(CK_KEY_TYPE type) {
    if (type == CKK_RSA)
        return "the token offers neither CKM_SHA256_RSA_PKCS nor CKM_RSA_PKCS for signing";
    if (type == CKK_EC)
        return "the token offers no CKM_ECDSA for signing";
    return "a key of type " + std::to_string(type) + ": the sign test knows RSA and EC keys";
}

enum class Next { go_on, stop };

struct KeyUnderTest {
    const CertificateObject& cert;
    const PrivateKey& key;
};

// The mechanism the key signs with; nullopt, with the reason reported, when it cannot be
// tried.
std::optional<SignMechanism> usable_mechanism(DiagState& state, const KeyUnderTest& k,
                                              const std::vector<CK_MECHANISM_TYPE>& offered) {
    std::string name = cert_name(k.cert);
    if (!k.key.key_type || !k.cert.value) {
        state.report("signature", CheckStatus::skip,
                     !k.key.key_type ? "the key's type cannot be read"
                                     : "the certificate's value cannot be read",
                     {}, name);
        return std::nullopt;
    }
    if (k.key.can_sign == false) {
        state.report("signature", CheckStatus::skip,
                     key_name(k.key) + " is not for signing (CKA_SIGN is false)", {}, name);
        return std::nullopt;
    }
    std::optional<SignMechanism> mechanism = choose_sign_mechanism(*k.key.key_type, offered);
    if (!mechanism) {
        state.report("signature", CheckStatus::fail, no_mechanism_text(*k.key.key_type),
                     "the module cannot sign with this key: try the card's own middleware", name);
    }
    return mechanism;
}

// Checks the token's signature of `challenge` with the certificate, and reports the result.
void report_verdict(DiagState& state, const KeyUnderTest& k, const std::string& how,
                    const Bytes& challenge, Bytes signature) {
    std::string name = cert_name(k.cert);
    if (*k.key.key_type == CKK_EC) {
        std::optional<Bytes> der = ecdsa_raw_to_der(signature);
        if (!der) {
            state.report("signature", CheckStatus::fail,
                         "the token's ECDSA signature is not r and s of one length (" +
                             std::to_string(signature.size()) + " bytes)",
                         "the module returned a malformed signature: try another module", name);
            return;
        }
        signature = std::move(*der);
    }
    SignatureVerdict verdict;
    try {
        verdict = verify_sha256_signature(*k.cert.value, challenge, signature);
    } catch (const Error& e) {
        state.report("signature", CheckStatus::skip, "cannot verify: " + e.message(), {}, name);
        return;
    }
    if (verdict.check == SignatureCheck::verified) {
        state.report("signature", CheckStatus::pass,
                     "signed " + std::to_string(kChallengeBytes) + " random bytes with " +
                         key_name(k.key) + " (" + how + "); the certificate's key verifies it",
                     {}, name);
        return;
    }
    state.report("signature", CheckStatus::fail,
                 "a signature by " + key_name(k.key) + " does not verify with certificate \"" +
                     name + "\" (" + id_text(k.cert.id.value_or(Bytes{})) +
                     "): the key does not belong to the certificate" +
                     (verdict.reason.empty() ? "" : " (" + verdict.reason + ")"),
                 "the card holds a certificate of another key under this CKA_ID: have the card "
                 "re-issued, or its certificate loaded again",
                 name);
}

// Signs and verifies with one key; returns stop when the PIN was refused, since every
// further key would cost the card another try.
Next test_key(DiagState& state, const Slot& slot, const KeyUnderTest& k,
              const std::vector<CK_MECHANISM_TYPE>& offered, const Secret* pin) {
    std::optional<SignMechanism> mechanism = usable_mechanism(state, k, offered);
    if (!mechanism)
        return Next::go_on;
    Bytes challenge = random_bytes(kChallengeBytes);
    Bytes signature;
    try {
        // A session of its own: closing it ends an operation a failure left active.
        Session signing(state.module->module.cryptoki(), slot.id);
        // The key may want the PIN again before it signs (CKA_ALWAYS_AUTHENTICATE).
        ContextLogin again{pin, [&state] { return state.hold_for_pin(); }};
        signature = sign_once(signing, k.key, mechanism->type,
                              signing_input(mechanism->input, challenge), again);
    } catch (const Error& e) {
        if (pin_refused(e))
            state.ctx.out.note_failure(Error(e).with_token(slot.token->label));
        state.report("signature", CheckStatus::fail,
                     "failed to sign with " + key_name(k.key) + ": " + e.message(), e.hint(),
                     cert_name(k.cert));
        return pin_refused(e) ? Next::stop : Next::go_on;
    }
    std::string how = mechanism_name(mechanism->type) +
                      (k.key.always_authenticate ? ", the PIN given again for this key" : "");
    report_verdict(state, k, how, challenge, std::move(signature));
    return Next::go_on;
}

const PrivateKey* key_with_id(const std::vector<PrivateKey>& keys, const std::optional<Bytes>& id) {
    if (!id || id->empty())
        return nullptr;
    for (const PrivateKey& key : keys) {
        if (key.id == *id)
            return &key;
    }
    return nullptr;
}

bool has_certificate(const std::vector<CertificateObject>& certs, const PrivateKey& key) {
    for (const CertificateObject& cert : certs) {
        if (!key.id.empty() && cert.id == key.id)
            return true;
    }
    return false;
}

struct TokenObjects {
    std::vector<PrivateKey> keys;
    std::vector<CertificateObject> certs;
    std::vector<CK_MECHANISM_TYPE> offered;
};

TokenObjects read_objects(const Cryptoki& cryptoki, const Session& session) {
    TokenObjects objects;
    objects.keys = private_keys(cryptoki, session.handle());
    for (CK_OBJECT_HANDLE handle : certificate_handles(cryptoki, session.handle()))
        objects.certs.push_back(read_certificate(cryptoki, session.handle(), handle));
    objects.offered = sign_mechanisms(cryptoki, session.slot());
    return objects;
}

// Each certificate with a private key under its CKA_ID, in the token's order.
void sign_with_each_key(DiagState& state, const Slot& slot, const Session& session,
                        const Secret* pin) {
    TokenObjects objects;
    try {
        objects = read_objects(state.module->module.cryptoki(), session);
    } catch (const Error& e) {
        state.report("signature", CheckStatus::fail, e.message(), e.hint(), slot.token->label);
        return;
    }
    bool any = false;
    Next next = Next::go_on;
    for (const CertificateObject& cert : objects.certs) {
        const PrivateKey* key = key_with_id(objects.keys, cert.id);
        if (key == nullptr)
            continue;
        any = true;
        if (next == Next::stop) {
            state.report("signature", CheckStatus::skip,
                         "not tried: the PIN was refused for an earlier key", {}, cert_name(cert));
            continue;
        }
        next = test_key(state, slot, KeyUnderTest{cert, *key}, objects.offered, pin);
    }
    for (const PrivateKey& key : objects.keys) {
        if (!has_certificate(objects.certs, key)) {
            state.report("signature", CheckStatus::skip,
                         "no certificate has this key's CKA_ID: nothing to verify a signature with",
                         {}, key_name(key));
        }
    }
    if (!any && objects.keys.empty()) {
        state.report("signature", CheckStatus::skip, "no private key on the token", {},
                     slot.token->label);
    }
}

// When the login is not tried, one signature line says so: without it the report would
// not show that nothing was signed.
void report_nothing_signed(DiagState& state, const TokenInfo& token) {
    state.report("signature", CheckStatus::skip, "not tried: no login", {}, token.label);
}

void log_in_and_sign(DiagState& state, const Slot& slot) {
    const TokenInfo& token = *slot.token;
    std::optional<Secret> pin;  // wiped when this returns, every signature made
    if (!read_user_pin(state, token, pin)) {
        report_nothing_signed(state, token);
        return;
    }
    try {
        Session session(state.module->module.cryptoki(), slot.id);
        std::optional<Login> login;
        std::unique_ptr<in_flight::MustFinish> verifying = state.hold_for_pin();
        if (!verifying)
            return;  // the run is given up on: no PIN goes out any more
        try {
            if (pin) {
                login.emplace(session, UserType::user, *pin);
            } else {
                login.emplace(session, UserType::user);
            }
        } catch (const Error& e) {
            report_login_failure(state, token, e);
            state.report("signature", CheckStatus::skip, "not logged in", {}, token.label);
            return;
        }
        verifying.reset();
        state.report("login", CheckStatus::pass,
                     pin ? "the user PIN is correct" : "logged in on the PIN pad", {}, token.label);
        sign_with_each_key(state, slot, session, pin ? &*pin : nullptr);
    } catch (const Error& e) {
        state.report("login", CheckStatus::fail, e.message(), e.hint(), token.label);
    }
}

}  // namespace

void check_sign_test(DiagState& state) {
    if (!state.options.sign_test)
        return;
    const Slot* slot = token_to_test(state);
    if (slot == nullptr)
        return;
    const TokenInfo& token = *slot->token;
    if ((token.flags & CKF_LOGIN_REQUIRED) == 0) {
        state.report("login", CheckStatus::skip, "the token needs no login", {}, token.label);
        try {
            Session session(state.module->module.cryptoki(), slot->id);
            sign_with_each_key(state, *slot, session, nullptr);
        } catch (const Error& e) {
            state.report("signature", CheckStatus::fail, e.message(), e.hint(), token.label);
        }
        return;
    }
    if (may_log_in(state, token))
        log_in_and_sign(state, *slot);
    else
        report_nothing_signed(state, token);
}

void add_sign_test_options(CLI::App& app, DiagOptions& options) {
    app.add_flag("--sign-test", options.sign_test,
                 "Log in and sign a challenge with each key, verified with its certificate");
    app.add_flag("--force", options.force,
                 "With --sign-test: log in even when one more wrong PIN could block the card");
    add_pin_options(app, options.pin);
}

void check_sign_test_options(DiagOptions& options) {
    check_pin_options(options.pin);
    if (!options.sign_test && (options.pin.any_source() || options.force)) {
        throw Error(CoreCode::usage, "read the options",
                    "a PIN source and --force serve only --sign-test");
    }
}

}  // namespace cac::cli
