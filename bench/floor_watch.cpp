// The floor for `cactool watch`: the least work that reports card and reader changes.
//
//   floor_watch
//
// Blocks in SCardGetStatusChange on every reader plus pcscd's "\\?PnP?\Notification" entry,
// with no time limit, and prints one line per change, flushed at once:
//   READER inserted ATR | READER removed | READER changed STATE | readers changed
// Each entry's event state goes back in as its current state; a new reader list is read
// only when the PnP entry says it changed. No JSON, no event counter bookkeeping, no
// service loss handling (it exits instead), no signal thread: SIGTERM simply ends it.
#include <cstdio>
#include <string>
#include <vector>

#include "floor_pcsc.hpp"

namespace {

using floor_pcsc::fail;
using floor_pcsc::list_readers;

const char* const pnp_name = "\\\\?PnP?\\Notification";

void print_change(const SCARD_READERSTATE& entry) {
    const DWORD before = entry.dwCurrentState;
    const DWORD after = entry.dwEventState;
    if (!(before & SCARD_STATE_PRESENT) && (after & SCARD_STATE_PRESENT)) {
        std::printf("%s inserted ", entry.szReader);
        for (DWORD i = 0; i < entry.cbAtr && i < MAX_ATR_SIZE; ++i)
            std::printf("%02x", entry.rgbAtr[i]);
        std::printf("\n");
    } else if ((before & SCARD_STATE_PRESENT) && !(after & SCARD_STATE_PRESENT)) {
        std::printf("%s removed\n", entry.szReader);
    } else {
        std::printf("%s changed %08lx\n", entry.szReader, static_cast<unsigned long>(after));
    }
    std::fflush(stdout);
}

}  // namespace

int main() {
    SCARDCONTEXT context = 0;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context);
    if (rv != SCARD_S_SUCCESS)
        return fail("SCardEstablishContext", rv);
    for (;;) {
        // The names must outlive the states that point into them.
        const std::vector<std::string> names = list_readers(context);
        std::vector<SCARD_READERSTATE> states(names.size() + 1);
        for (std::size_t i = 0; i < names.size(); ++i) {
            states[i].szReader = names[i].c_str();
            states[i].dwCurrentState = SCARD_STATE_UNAWARE;
        }
        states.back().szReader = pnp_name;
        states.back().dwCurrentState = SCARD_STATE_UNAWARE;
        // The first call returns the current state at once; the first entry (UNAWARE)
        // counts as a change, as a tool that lists the readers at start would show them.
        bool list_changed = false;
        while (!list_changed) {
            rv = SCardGetStatusChange(context, INFINITE, states.data(),
                                      static_cast<DWORD>(states.size()));
            if (rv == SCARD_E_UNKNOWN_READER)
                break;
            if (rv != SCARD_S_SUCCESS)
                return fail("SCardGetStatusChange", rv);
            for (std::size_t i = 0; i + 1 < states.size(); ++i) {
                if (states[i].dwEventState & SCARD_STATE_CHANGED)
                    print_change(states[i]);
                states[i].dwCurrentState = states[i].dwEventState & ~DWORD(SCARD_STATE_CHANGED);
            }
            SCARD_READERSTATE& pnp = states.back();
            list_changed = pnp.dwCurrentState != SCARD_STATE_UNAWARE &&
                           (pnp.dwEventState & SCARD_STATE_CHANGED);
            pnp.dwCurrentState = pnp.dwEventState & ~DWORD(SCARD_STATE_CHANGED);
        }
        std::printf("readers changed\n");
        std::fflush(stdout);
    }
}
