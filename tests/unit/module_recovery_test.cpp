// Recovering a module-wide read, against a fake module that counts its calls.
#include <doctest/doctest.h>

#include "core/recovery/module_recovery.hpp"
#include "pkcs11_fake.hpp"

using namespace cac;
using namespace cac::test;

TEST_CASE("a module-wide read is retried, or retried after initialising the module again") {
    FakeModule fake;
    Module module = Module::adopt(&fake.list, "fake");
    module.initialize();
    ModuleRecoverer recoverer(module);
    const Error removed(ErrorDomain::pkcs11, CKR_DEVICE_REMOVED, "C_GetSlotList");
    CHECK(recoverer.can(RecoveryAction::reconnect));
    CHECK_FALSE(recoverer.can(RecoveryAction::reestablish_context));
    CHECK_FALSE(recoverer.can(RecoveryAction::user_action));
    recoverer.recover(RecoveryAction::reconnect, removed, std::chrono::steady_clock::now());
    CHECK(fake.count("C_Finalize") == 0);
    recoverer.recover(RecoveryAction::reinitialize_module, removed,
                      std::chrono::steady_clock::now());
    CHECK(fake.count("C_Finalize") == 1);
    CHECK(fake.count("C_Initialize") == 2);
}
