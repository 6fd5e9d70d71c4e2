// Recovery for work on a PKCS#11 module as a whole: its slot list and its tokens' info,
// read before any token is chosen and with no session open. The token's own recovery,
// with its session and the wait for the card to come back, is in token_recovery.hpp.
#pragma once

#include <chrono>

#include "core/pkcs11/module.hpp"
#include "core/recovery/policy.hpp"

namespace cac {

// Retries a module-wide read as it is, or after initialising the module again. No
// session is involved, so the actions meant for one (reconnect, reopen_session) are a
// plain retry here: the module looks for its readers and cards afresh on the next call.
class ModuleRecoverer : public Recoverer {
  public:
    explicit ModuleRecoverer(Module& module) : module_(module) {}
    [[nodiscard]] bool can(RecoveryAction action) const override;
    void recover(RecoveryAction action, const Error& error,
                 std::chrono::steady_clock::time_point deadline) override;

  private:
    Module& module_;
};

}  // namespace cac
