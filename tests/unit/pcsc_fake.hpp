// A pcsc-lite for unit tests: a table of plain functions (PcscFunctions holds C function
// pointers) that forward to the one FakePcsc alive at the time. SCardGetStatusChange
// replays a script of answers recorded from pcscd 1.9.9 on the test bed, and every call's
// dwCurrentState values are kept so tests can check what the caller fed back.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/pcsc/pcsc_api.hpp"
#include "core/util/hex.hpp"

namespace cac::test {

inline constexpr const char* pnp_notification = "\\\\?PnP?\\Notification";

// One SCardGetStatusChange answer. Entries named in `events` get that dwEventState (as
// pcscd returned it, SCARD_STATE_CHANGED included) and the ATR in `atrs`. The PnP entry
// not named gets 0, as pcsc-lite 1.9.9 answers when the reader count did not change; a
// reader not named keeps its current state, or, when the fake's `readers` no longer holds
// it, gets UNKNOWN|UNAVAILABLE|CHANGED as pcsc-lite gives a reader that left mid-wait.
struct StatusStep {
    LONG rv = SCARD_S_SUCCESS;
    std::map<std::string, DWORD> events;
    std::map<std::string, Bytes> atrs;
    std::function<void()> before;  // runs first: change the reader list, say
};

struct FakePcsc {
    pcsc::PcscFunctions functions{};

    std::vector<std::string> readers;          // what SCardListReaders answers, in order
    std::function<void(int call)> after_list;  // runs after each SCardListReaders call
    int list_calls = 0;

    std::deque<LONG> establish_results;  // consumed one per call; none left: success
    int established = 0;
    int released = 0;
    int cancels = 0;

    std::deque<StatusStep> steps;                                   // none left: SCARD_E_TIMEOUT
    std::vector<std::vector<std::pair<std::string, DWORD>>> waits;  // current states per call
    std::vector<DWORD> wait_timeouts;

    // Card side.
    LONG connect_rv = SCARD_S_SUCCESS;
    std::deque<LONG> connect_results;    // consumed one per call before connect_rv
    int connects = 0;                    // successful SCardConnect calls
    std::deque<LONG> reconnect_results;  // consumed one per call; none left: success
    std::vector<DWORD> reconnects;       // the dwInitialization of each SCardReconnect
    std::deque<LONG> transmit_results;   // consumed one per call; none left: success
    DWORD active_protocol = SCARD_PROTOCOL_T1;
    std::vector<DWORD> dispositions;  // of each SCardDisconnect
    std::vector<const SCARD_IO_REQUEST*> send_pcis;
    std::vector<Bytes> sent;
    Bytes response = {0x90, 0x00};
    std::string status_reader = "Virtual PCD 00 00";
    DWORD card_state = SCARD_PRESENT | SCARD_POWERED | SCARD_NEGOTIABLE;
    Bytes atr;
    std::map<DWORD, std::pair<LONG, Bytes>> controls;  // control code → answer
    int transactions_begun = 0;
    std::deque<LONG> begin_results;  // consumed one per SCardBeginTransaction; none: success
    std::vector<DWORD> transaction_ends;

    FakePcsc();
    ~FakePcsc();
    FakePcsc(const FakePcsc&) = delete;
    FakePcsc& operator=(const FakePcsc&) = delete;

    pcsc::PcscApi api() const { return pcsc::PcscApi(&functions); }
    static FakePcsc& current();
};

}  // namespace cac::test
