// What a reader is doing right now, as `readers` shows it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/pcsc/context.hpp"
#include "core/util/hex.hpp"

namespace cac::pcsc {

enum class ReaderState { empty, present, in_use, exclusive, mute, unavailable };

// "empty", "present", "in_use", "exclusive", "mute", "unavailable".
std::string_view to_string(ReaderState state);

// The state a dwEventState describes. A reader pcscd cannot read (UNKNOWN or
// UNAVAILABLE) is unavailable; a card that does not answer is mute, whatever else is set;
// an exclusive or shared holder beats plain presence.
ReaderState reader_state_from(DWORD event_state);

struct Reader {
    std::string name;
    ReaderState state = ReaderState::unavailable;
    DWORD event_state = 0;  // as pcscd reported it, event counter in the high 16 bits
    Bytes atr;              // empty without a card
};

// Every reader with its state, read with one SCardGetStatusChange that does not wait.
// No readers gives an empty list. When a reader disappears between the listing and the
// reading, both are done again (a few times at most).
[[nodiscard]] std::vector<Reader> read_readers(const Context& context);

}  // namespace cac::pcsc
