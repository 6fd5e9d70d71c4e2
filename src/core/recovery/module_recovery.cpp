#include "core/recovery/module_recovery.hpp"

namespace cac {

bool ModuleRecoverer::can(RecoveryAction action) const {
    return action == RecoveryAction::retry || action == RecoveryAction::reconnect ||
           action == RecoveryAction::reopen_session ||
           action == RecoveryAction::reinitialize_module;
}

void ModuleRecoverer::recover(RecoveryAction action, const Error&,
                              std::chrono::steady_clock::time_point) {
    if (action == RecoveryAction::reinitialize_module)
        module_.reinitialize();
}

}  // namespace cac
