// Sessions and logins, each owned by an object that ends it.
#pragma once

#include <p11-kit/pkcs11.h>

#include "core/pkcs11/cryptoki.hpp"
#include "core/util/secret.hpp"

namespace cac {

// Read-only unless something needs more: PKCS#11 lets the SO log in only to a read-write
// session (v3.1 section 5.6, CKR_SESSION_READ_ONLY_EXISTS otherwise).
enum class SessionAccess { read_only, read_write };

// A serial session (C_OpenSession with CKF_SERIAL_SESSION), closed by the destructor.
// The module behind `cryptoki` must outlive it.
class Session {
  public:
    // Throws Error(ErrorDomain::pkcs11, rv, "C_OpenSession") with the slot.
    Session(const Cryptoki& cryptoki, CK_SLOT_ID slot,
            SessionAccess access = SessionAccess::read_only);
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    Session(Session&& other) noexcept;
    Session& operator=(Session&& other) noexcept;
    ~Session();

    CK_SESSION_HANDLE handle() const { return handle_; }
    CK_SLOT_ID slot() const { return slot_; }
    const Cryptoki& cryptoki() const { return cryptoki_; }

    // C_GetSessionInfo; throws on failure.
    [[nodiscard]] CK_SESSION_INFO info() const;

  private:
    void close() noexcept;

    Cryptoki cryptoki_;
    CK_SLOT_ID slot_ = 0;
    CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
    bool open_ = false;
};

enum class UserType { user, so };

// A login on a session, logged out by the destructor if the login succeeded. A failed
// login throws Error(ErrorDomain::pkcs11, rv, "C_Login") (CKR_PIN_INCORRECT,
// CKR_PIN_LOCKED, ...) and is never retried: each try costs the card a retry counter.
class Login {
  public:
    // With the PIN's bytes.
    Login(const Session& session, UserType user, const Secret& pin);
    // Through the protected authentication path (PIN pad): C_Login with a NULL PIN.
    Login(const Session& session, UserType user);
    Login(const Login&) = delete;
    Login& operator=(const Login&) = delete;
    Login(Login&& other) noexcept;
    Login& operator=(Login&& other) = delete;
    ~Login();

    // False when the session was already logged in (CKR_USER_ALREADY_LOGGED_IN); then
    // the login is not ours to end.
    bool logged_in_here() const { return logout_; }

  private:
    void log_in(UserType user, const Secret* pin);

    Cryptoki cryptoki_;
    CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
    CK_SLOT_ID slot_ = 0;
    bool logout_ = false;
};

}  // namespace cac
