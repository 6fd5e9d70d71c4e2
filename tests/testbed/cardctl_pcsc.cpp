#include "cardctl_pcsc.hpp"

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include <cstdio>
#include <thread>
#include <utility>

namespace cardctl {

namespace {

using Clock = std::chrono::steady_clock;

// How often to try again while pcscd is not there (restarting) or has no such reader yet.
constexpr std::chrono::milliseconds kRetry{100};

struct ErrorName {
    LONG code;
    const char* name;
};

constexpr ErrorName kErrorNames[] = {
    {SCARD_E_NO_SERVICE, "SCARD_E_NO_SERVICE"},
    {SCARD_E_SERVICE_STOPPED, "SCARD_E_SERVICE_STOPPED"},
    {SCARD_E_UNKNOWN_READER, "SCARD_E_UNKNOWN_READER"},
    {SCARD_E_NO_SMARTCARD, "SCARD_E_NO_SMARTCARD"},
    {SCARD_E_NO_READERS_AVAILABLE, "SCARD_E_NO_READERS_AVAILABLE"},
    {SCARD_E_READER_UNAVAILABLE, "SCARD_E_READER_UNAVAILABLE"},
    {SCARD_E_SHARING_VIOLATION, "SCARD_E_SHARING_VIOLATION"},
    {SCARD_E_TIMEOUT, "SCARD_E_TIMEOUT"},
    {SCARD_E_PROTO_MISMATCH, "SCARD_E_PROTO_MISMATCH"},
    {SCARD_E_NOT_TRANSACTED, "SCARD_E_NOT_TRANSACTED"},
    {SCARD_W_REMOVED_CARD, "SCARD_W_REMOVED_CARD"},
    {SCARD_W_RESET_CARD, "SCARD_W_RESET_CARD"},
    {SCARD_W_UNPOWERED_CARD, "SCARD_W_UNPOWERED_CARD"},
    {SCARD_W_UNRESPONSIVE_CARD, "SCARD_W_UNRESPONSIVE_CARD"},
    {SCARD_E_COMM_DATA_LOST, "SCARD_E_COMM_DATA_LOST"},
    {SCARD_F_COMM_ERROR, "SCARD_F_COMM_ERROR"},
    {SCARD_F_INTERNAL_ERROR, "SCARD_F_INTERNAL_ERROR"},
    {SCARD_E_INVALID_PARAMETER, "SCARD_E_INVALID_PARAMETER"},
};

// "SCARD_E_NO_SERVICE (0x8010001d): Service not available."
std::string describe(LONG rv) {
    const char* name = "SCARD error";
    for (const ErrorName& e : kErrorNames) {
        if (e.code == rv) {
            name = e.name;
        }
    }
    char code[16];
    std::snprintf(code, sizeof code, "0x%08lx", static_cast<unsigned long>(rv) & 0xFFFFFFFFUL);
    return std::string(name) + " (" + code + "): " + pcsc_stringify_error(rv);
}

class Context {
  public:
    Context() = default;
    ~Context() {
        if (established_) {
            SCardReleaseContext(context_);
        }
    }
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    [[nodiscard]] LONG establish() {
        const LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context_);
        established_ = rv == SCARD_S_SUCCESS;
        return rv;
    }
    SCARDCONTEXT get() const { return context_; }

  private:
    SCARDCONTEXT context_ = 0;
    bool established_ = false;
};

class CardHandle {
  public:
    CardHandle() = default;
    ~CardHandle() {
        if (connected_) {
            SCardDisconnect(handle_, SCARD_LEAVE_CARD);
        }
    }
    CardHandle(const CardHandle&) = delete;
    CardHandle& operator=(const CardHandle&) = delete;

    [[nodiscard]] LONG connect(SCARDCONTEXT context, const std::string& reader) {
        DWORD protocol = 0;
        const LONG rv = SCardConnect(context, reader.c_str(), SCARD_SHARE_SHARED,
                                     SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &handle_, &protocol);
        connected_ = rv == SCARD_S_SUCCESS;
        return rv;
    }
    [[nodiscard]] LONG reset(DWORD& protocol) {
        return SCardReconnect(handle_, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                              SCARD_RESET_CARD, &protocol);
    }
    [[nodiscard]] LONG disconnect() {
        connected_ = false;
        return SCardDisconnect(handle_, SCARD_LEAVE_CARD);
    }

  private:
    SCARDHANDLE handle_ = 0;
    bool connected_ = false;
};

[[noreturn]] void refuse(const std::string& what, LONG rv) {
    throw Failure{1, "failed to " + what + ": " + describe(rv)};
}

bool wanted(DWORD state, bool present) {
    if (present) {
        return (state & SCARD_STATE_PRESENT) && !(state & SCARD_STATE_MUTE);
    }
    return (state & SCARD_STATE_EMPTY) != 0;
}

// One established context's share of the wait. Returns true when the card is as wanted,
// false when the context should be dropped and made again (pcscd went away), and stops
// at `deadline` with the last error in `last`.
bool wait_in_context(const Context& context, const std::string& reader, bool present,
                     Clock::time_point deadline, LONG& last) {
    SCARD_READERSTATE state{};
    state.szReader = reader.c_str();
    state.dwCurrentState = SCARD_STATE_UNAWARE;
    while (Clock::now() < deadline) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        last = SCardGetStatusChange(context.get(), static_cast<DWORD>(left.count()), &state, 1);
        if (last != SCARD_S_SUCCESS) {
            return false;
        }
        if (wanted(state.dwEventState, present)) {
            return true;
        }
        if (state.dwEventState & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE)) {
            // No such reader (yet): pcscd would not wake us when it appears, so look again.
            last = SCARD_E_UNKNOWN_READER;
            std::this_thread::sleep_for(kRetry);
            state.dwCurrentState = SCARD_STATE_UNAWARE;
            continue;
        }
        state.dwCurrentState = state.dwEventState & ~static_cast<DWORD>(SCARD_STATE_CHANGED);
    }
    return false;
}

}  // namespace

nlohmann::json reset_card(const std::string& reader) {
    Context context;
    if (const LONG rv = context.establish(); rv != SCARD_S_SUCCESS) {
        refuse("reach pcscd", rv);
    }
    CardHandle card;
    if (const LONG rv = card.connect(context.get(), reader); rv != SCARD_S_SUCCESS) {
        refuse("connect to the card in '" + reader + "'", rv);
    }
    DWORD protocol = 0;
    if (const LONG rv = card.reset(protocol); rv != SCARD_S_SUCCESS) {
        refuse("reset the card in '" + reader + "'", rv);
    }
    if (const LONG rv = card.disconnect(); rv != SCARD_S_SUCCESS) {
        refuse("disconnect from the card in '" + reader + "'", rv);
    }
    return {{"ok", true},
            {"reader", reader},
            {"reset", true},
            {"protocol", protocol == SCARD_PROTOCOL_T0 ? "T=0" : "T=1"}};
}

nlohmann::json wait_for_card(const std::string& reader, bool present,
                             std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    LONG last = SCARD_E_TIMEOUT;
    while (Clock::now() < deadline) {
        Context context;
        last = context.establish();
        if (last == SCARD_S_SUCCESS && wait_in_context(context, reader, present, deadline, last)) {
            return {{"ok", true}, {"reader", reader}, {"card", present ? "present" : "absent"}};
        }
        if (last != SCARD_E_TIMEOUT && Clock::now() < deadline) {
            std::this_thread::sleep_for(std::min<Clock::duration>(kRetry, deadline - Clock::now()));
        }
    }
    throw Failure{3, std::string("timed out waiting for the card in '") + reader + "' to be " +
                         (present ? "present" : "absent") + " (last: " + describe(last) + ")"};
}

}  // namespace cardctl
