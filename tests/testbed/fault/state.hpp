// The fault module's process-wide state: the configuration, the real module it forwards
// to, how often each function has been called, and the call log.
//
// One mutex guards it. It is held only to decide about a call and to count it, never
// while the real module runs, so a call that blocks inside the real module (such as
// C_WaitForSlotEvent) holds up no other thread.
#pragma once

#include <p11-kit/pkcs11.h>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "config.hpp"
#include "names.hpp"

namespace fault {

// What the configuration says about one call.
struct Decision {
    unsigned long call = 0;  // the call's number for its function (and slot)
    unsigned delay_ms = 0;
    std::optional<CK_RV> rv;
    When when = When::before;
};

class State {
  public:
    static State& get();

    // Read the file CACTOOL_FAULT_CONFIG names, load the real module the first time, and
    // open the log CACTOOL_FAULT_LOG names. On failure says why on stderr and returns
    // CKR_GENERAL_ERROR; the configuration read before, if any, stays in force.
    CK_RV load();
    // load() unless a configuration was read already.
    CK_RV load_once();

    CK_FUNCTION_LIST* real() const { return real_; }
    std::shared_ptr<const Config> config() const;

    // Count the call and find the first fault rule that covers it.
    Decision decide(Function function, std::optional<CK_SLOT_ID> slot);
    // The number of this C_GetSlotList call that fills a buffer, from 1.
    unsigned long next_slot_list_fill();

    // One line of the log: "PID FUNCTION CALL RV HOW DELAY_MS".
    void record(Function function, unsigned long call, CK_RV rv, const char* how,
                unsigned delay_ms) const;

  private:
    State() = default;
    void load_real(const std::string& path);
    void open_log();

    mutable std::mutex mutex_;
    std::shared_ptr<const Config> config_;
    void* library_ = nullptr;  // never closed: callers may keep the real module's pointers
    std::string real_path_;
    CK_FUNCTION_LIST* real_ = nullptr;
    int log_fd_ = -1;
    std::array<unsigned long, function_count> calls_{};
    std::map<std::pair<Function, CK_SLOT_ID>, unsigned long> slot_calls_;
    unsigned long slot_list_fills_ = 0;
};

}  // namespace fault
