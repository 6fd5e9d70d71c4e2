// Recovery for work on a PKCS#11 token: a new session on the same token after the token
// went away and came back (CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
// CKR_SESSION_HANDLE_INVALID), and the module initialised again when it lost its state
// (CKR_CRYPTOKI_NOT_INITIALIZED).
//
// "The same token" is the one with the label, serial, manufacturer and model it had: a
// card put back may come up in another slot, and a different card in the same slot must
// not be taken for it. While it is away the slot list is read again every
// `poll_interval` until the deadline; nothing else can tell a waiting caller, since
// C_WaitForSlotEvent is optional and many modules do not implement it.
//
// A logged-in session is not recovered: the login would have to be repeated, and a login
// is never repeated behind the user's back.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/pkcs11/module.hpp"
#include "core/pkcs11/session.hpp"
#include "core/pkcs11/slots.hpp"
#include "core/recovery/policy.hpp"

namespace cac {

struct TokenIdentity {
    std::string label;
    std::string serial;
    std::string manufacturer;
    std::string model;

    static TokenIdentity of(const TokenInfo& token);
    [[nodiscard]] bool matches(const TokenInfo& token) const;
};

class TokenRecoverer : public Recoverer {
  public:
    using Sleeper = std::function<void(std::chrono::milliseconds)>;

    // For `token`, last seen in `slot`. The session is opened when first asked for, so
    // that a failure to open it can be recovered like any other.
    TokenRecoverer(Module& module, CK_SLOT_ID slot, const TokenInfo& token,
                   SessionAccess access = SessionAccess::read_only);

    // The session to work in; a new one after each recovery.
    [[nodiscard]] const Session& session();
    [[nodiscard]] CK_SLOT_ID slot() const { return slot_; }

    // A login was made on the session: from now on it cannot be recovered.
    void logged_in() { logged_in_ = true; }

    void set_sleeper(Sleeper sleeper, std::chrono::milliseconds poll_interval) {
        sleep_ = std::move(sleeper);
        poll_interval_ = poll_interval;
    }

    [[nodiscard]] bool can(RecoveryAction action) const override;
    void recover(RecoveryAction action, const Error& error,
                 std::chrono::steady_clock::time_point deadline) override;

  private:
    void wait_for_token(std::chrono::steady_clock::time_point deadline);

    Module& module_;
    CK_SLOT_ID slot_;
    TokenIdentity token_;
    SessionAccess access_;
    std::optional<Session> session_;
    bool logged_in_ = false;
    Sleeper sleep_;
    std::chrono::milliseconds poll_interval_{200};
};

}  // namespace cac
