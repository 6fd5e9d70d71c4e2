#include "core/pkcs11/session.hpp"

#include <string>
#include <utility>

#include "core/util/error.hpp"
#include "core/util/in_flight.hpp"
#include "core/util/log.hpp"

namespace cac {

Session::Session(const Cryptoki& cryptoki, CK_SLOT_ID slot, SessionAccess access)
    : cryptoki_(cryptoki), slot_(slot) {
    CK_FLAGS flags = CKF_SERIAL_SESSION;
    if (access == SessionAccess::read_write)
        flags |= CKF_RW_SESSION;
    CK_RV rv = cryptoki_.open_session(slot, flags, &handle_);
    if (rv != CKR_OK) {
        throw Error(ErrorDomain::pkcs11, std::uint32_t(rv), "C_OpenSession")
            .with_slot(std::to_string(slot));
    }
    open_ = true;
}

Session::Session(Session&& other) noexcept
    : cryptoki_(other.cryptoki_),
      slot_(other.slot_),
      handle_(other.handle_),
      open_(std::exchange(other.open_, false)) {}

Session& Session::operator=(Session&& other) noexcept {
    if (this != &other) {
        close();
        cryptoki_ = other.cryptoki_;
        slot_ = other.slot_;
        handle_ = other.handle_;
        open_ = std::exchange(other.open_, false);
    }
    return *this;
}

Session::~Session() {
    close();
}

void Session::close() noexcept {
    if (!open_)
        return;
    open_ = false;
    CK_RV rv = cryptoki_.close_session(handle_);
    if (rv != CKR_OK)
        log::warning("pkcs11", "C_CloseSession failed: " + ckr_name(rv) + " (slot " +
                                   std::to_string(slot_) + ")");
}

CK_SESSION_INFO Session::info() const {
    CK_SESSION_INFO info{};
    CK_RV rv = cryptoki_.get_session_info(handle_, &info);
    if (rv != CKR_OK) {
        throw Error(ErrorDomain::pkcs11, std::uint32_t(rv), "C_GetSessionInfo")
            .with_slot(std::to_string(slot_));
    }
    return info;
}

Login::Login(const Session& session, UserType user, const Secret& pin)
    : cryptoki_(session.cryptoki()), session_(session.handle()), slot_(session.slot()) {
    log_in(user, &pin);
}

Login::Login(const Session& session, UserType user)
    : cryptoki_(session.cryptoki()), session_(session.handle()), slot_(session.slot()) {
    // The PIN is typed on the reader's own pad meanwhile: a person's time, not the card's.
    in_flight::WaitingForPerson typing;
    log_in(user, nullptr);
}

Login::Login(Login&& other) noexcept
    : cryptoki_(other.cryptoki_),
      session_(other.session_),
      slot_(other.slot_),
      logout_(std::exchange(other.logout_, false)) {}

Login::~Login() {
    if (!logout_)
        return;
    CK_RV rv = cryptoki_.logout(session_);
    if (rv != CKR_OK)
        log::warning("pkcs11",
                     "C_Logout failed: " + ckr_name(rv) + " (slot " + std::to_string(slot_) + ")");
}

void Login::log_in(UserType user, const Secret* pin) {
    CK_USER_TYPE type = user == UserType::so ? CKU_SO : CKU_USER;
    // The card counts this try whether or not its answer is heard: never cut it short.
    in_flight::MustFinish verifying;
    CK_RV rv = cryptoki_.login(session_, type, pin);
    if (rv == CKR_USER_ALREADY_LOGGED_IN)
        return;
    if (rv != CKR_OK) {
        throw Error(ErrorDomain::pkcs11, std::uint32_t(rv), "C_Login")
            .with_slot(std::to_string(slot_));
    }
    logout_ = true;
}

}  // namespace cac
