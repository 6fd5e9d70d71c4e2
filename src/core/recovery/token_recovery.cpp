#include "core/recovery/token_recovery.hpp"

#include <thread>

#include "core/util/log.hpp"

namespace cac {

TokenIdentity TokenIdentity::of(const TokenInfo& token) {
    return {token.label, token.serial, token.manufacturer, token.model};
}

bool TokenIdentity::matches(const TokenInfo& token) const {
    return token.label == label && token.serial == serial && token.manufacturer == manufacturer &&
           token.model == model;
}

TokenRecoverer::TokenRecoverer(Module& module, CK_SLOT_ID slot, const TokenInfo& token,
                               SessionAccess access)
    : module_(module),
      slot_(slot),
      token_(TokenIdentity::of(token)),
      access_(access),
      sleep_([](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }) {}

const Session& TokenRecoverer::session() {
    if (!session_)
        session_.emplace(module_.cryptoki(), slot_, access_);
    return *session_;
}

bool TokenRecoverer::can(RecoveryAction action) const {
    switch (action) {
        case RecoveryAction::retry:
            return true;
        case RecoveryAction::reopen_session:
        case RecoveryAction::reconnect:  // the module reconnects; a new session follows it
        case RecoveryAction::reinitialize_module:
            return !logged_in_;
        default:
            return false;
    }
}

void TokenRecoverer::recover(RecoveryAction action, const Error&,
                             std::chrono::steady_clock::time_point deadline) {
    if (action == RecoveryAction::retry)
        return;
    // The old session goes first: closing it after the module was initialised again
    // would hand the module a handle from its past life.
    session_.reset();
    if (action == RecoveryAction::reinitialize_module)
        module_.reinitialize();
    wait_for_token(deadline);
    // The session itself is opened by the operation's next run, through session(), so a
    // failure to open it is that run's failure and is recovered in turn.
}

void TokenRecoverer::wait_for_token(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        for (const Slot& slot : list_slots(module_.cryptoki(), true)) {
            if (slot.token && token_.matches(*slot.token)) {
                if (slot.id != slot_) {
                    log::info("recovery", "token \"" + token_.label + "\" is back in slot " +
                                              std::to_string(slot.id));
                }
                slot_ = slot.id;
                return;
            }
        }
        if (std::chrono::steady_clock::now() + poll_interval_ >= deadline) {
            throw Error(ErrorDomain::pkcs11, CKR_TOKEN_NOT_PRESENT, "wait for the token",
                        "the token did not come back in time")
                .with_token(token_.label);
        }
        sleep_(poll_interval_);
    }
}

}  // namespace cac
