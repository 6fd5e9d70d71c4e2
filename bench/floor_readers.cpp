// The floor for `cactool readers`: the least work that lists the readers with their state.
//
//   floor_readers
//
// SCardEstablishContext, SCardListReaders (size, then fill), one SCardGetStatusChange with
// no wait over every reader for its state and ATR, and one line per reader:
//   NAME present|empty ATR
// No reader features (no direct connection, no SCardControl), no ATR identification, no
// JSON: what cactool spends beyond this is its features.
#include <cstdio>
#include <string>
#include <vector>

#include "floor_pcsc.hpp"

int main() {
    SCARDCONTEXT context = 0;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context);
    if (rv != SCARD_S_SUCCESS)
        return floor_pcsc::fail("SCardEstablishContext", rv);
    const std::vector<std::string> names = floor_pcsc::list_readers(context);
    if (names.empty()) {
        std::fprintf(stderr, "no reader\n");
        return 1;
    }
    std::vector<SCARD_READERSTATE> states(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
        states[i].szReader = names[i].c_str();
        states[i].dwCurrentState = SCARD_STATE_UNAWARE;
    }
    rv = SCardGetStatusChange(context, 0, states.data(), static_cast<DWORD>(states.size()));
    if (rv != SCARD_S_SUCCESS)
        return floor_pcsc::fail("SCardGetStatusChange", rv);
    for (const SCARD_READERSTATE& state : states) {
        const bool present = state.dwEventState & SCARD_STATE_PRESENT;
        std::printf("%s %s ", state.szReader, present ? "present" : "empty");
        for (DWORD i = 0; present && i < state.cbAtr && i < MAX_ATR_SIZE; ++i)
            std::printf("%02x", state.rgbAtr[i]);
        std::printf("\n");
    }
    SCardReleaseContext(context);
    return 0;
}
