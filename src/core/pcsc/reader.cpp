#include "core/pcsc/reader.hpp"

#include <algorithm>

#include "core/util/error.hpp"

namespace cac::pcsc {
namespace {

// pcsc-lite refuses more entries than it has reader slots in one call.
constexpr std::size_t entries_per_call = PCSCLITE_MAX_READERS_CONTEXTS;
// A reader list that keeps losing readers while it is read is given up on after this.
constexpr int read_attempts = 5;

// Reads the states of `names`; false when one of them vanished first.
bool read_states(const Context& context, const std::vector<std::string>& names,
                 std::vector<Reader>& readers) {
    readers.clear();
    for (std::size_t first = 0; first < names.size(); first += entries_per_call) {
        std::size_t count = std::min(entries_per_call, names.size() - first);
        std::vector<SCARD_READERSTATE> states(count);
        for (std::size_t i = 0; i < count; ++i) {
            states[i].szReader = names[first + i].c_str();
            states[i].dwCurrentState = SCARD_STATE_UNAWARE;
        }
        LONG rv = context.api().get_status_change(context.handle(), 0, states.data(), DWORD(count));
        if (rv == SCARD_E_UNKNOWN_READER)
            return false;
        check_scard(rv, "read the readers' states");
        for (const auto& state : states) {
            Reader reader{state.szReader,
                          reader_state_from(state.dwEventState),
                          state.dwEventState & ~DWORD(SCARD_STATE_CHANGED),
                          {}};
            std::size_t atr_length = std::min<std::size_t>(state.cbAtr, MAX_ATR_SIZE);
            if (state.dwEventState & SCARD_STATE_PRESENT)
                reader.atr.assign(state.rgbAtr, state.rgbAtr + atr_length);
            readers.push_back(std::move(reader));
        }
    }
    return true;
}

}  // namespace

std::string_view to_string(ReaderState state) {
    switch (state) {
        case ReaderState::empty:
            return "empty";
        case ReaderState::present:
            return "present";
        case ReaderState::in_use:
            return "in_use";
        case ReaderState::exclusive:
            return "exclusive";
        case ReaderState::mute:
            return "mute";
        case ReaderState::unavailable:
            return "unavailable";
    }
    return "unavailable";
}

ReaderState reader_state_from(DWORD event_state) {
    if (event_state & (SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE))
        return ReaderState::unavailable;
    if (event_state & SCARD_STATE_MUTE)
        return ReaderState::mute;
    if (event_state & SCARD_STATE_EMPTY)
        return ReaderState::empty;
    if (event_state & SCARD_STATE_EXCLUSIVE)
        return ReaderState::exclusive;
    if (event_state & SCARD_STATE_INUSE)
        return ReaderState::in_use;
    if (event_state & SCARD_STATE_PRESENT)
        return ReaderState::present;
    return ReaderState::unavailable;
}

std::vector<Reader> read_readers(const Context& context) {
    std::vector<Reader> readers;
    for (int attempt = 0; attempt < read_attempts; ++attempt) {
        if (read_states(context, context.list_readers(), readers))
            return readers;
    }
    throw Error(
        ErrorDomain::pcsc, std::uint32_t(SCARD_E_UNKNOWN_READER), "read the readers' states",
        "readers kept disappearing on each of " + std::to_string(read_attempts) + " attempts");
}

}  // namespace cac::pcsc
