// Reader and card events for `watch` and `--wait-card`, from pcscd's event API.
//
// The monitor blocks in SCardGetStatusChange on every reader plus the special
// "\\?PnP?\Notification" entry and never polls. After each wait every entry's whole
// dwEventState goes back in as its dwCurrentState, high 16 bits included: pcsc-lite counts
// insertions and removals there, and when the count moved while the presence bit did not
// (a card pulled and put back between two waits) the monitor reports both events.
//
// What pcsc-lite 1.9.9 does, as recorded on the test bed, and how the monitor copes:
// - The PnP entry only flags a reader count that changed *during* a call; a reader that
//   arrives between two calls goes unnoticed there. So each next() first compares the
//   reader list with the one it knows (one SCardListReaders, not a poll: once per wake-up).
// - A reader named in the call that pcscd no longer knows fails the whole call with
//   SCARD_E_UNKNOWN_READER; the list is read again and the reader reported removed.
// - A card reset by another application (SCardReconnect with SCARD_RESET_CARD) wakes no
//   one and moves no counter: a reset cannot be seen through this API, so there is no
//   card_reset event.
// - When pcscd stops, a blocked wait returns SCARD_F_COMM_ERROR (not SCARD_E_NO_SERVICE),
//   and SCardIsValidContext still says the context is valid; new contexts then fail with
//   SCARD_E_NO_SERVICE until pcscd is back.
// - A restarted pcscd first reports its readers empty, and the card present about 200 ms
//   later, with counters starting again from zero.
//
// Service loss: the monitor reports service_lost and forgets every reader (a consumer
// should treat all readers as gone). Later calls re-establish a context, waiting 100 ms
// at first and twice as long after each failure up to 2 s, within the caller's timeout.
// Once pcscd answers: service_restored, then the current state as events: reader_added
// for each reader and card_inserted for each card present.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/pcsc/context.hpp"
#include "core/pcsc/reader.hpp"
#include "core/util/hex.hpp"

namespace cac::pcsc {

enum class EventKind {
    reader_added,
    reader_removed,
    card_inserted,
    card_removed,
    service_lost,
    service_restored
};

// "reader_added", ..., as `watch --json` spells them.
std::string_view to_string(EventKind kind);

struct Event {
    EventKind kind = EventKind::reader_added;
    std::chrono::system_clock::time_point time;
    std::string reader;  // empty for the service events
    Bytes atr;           // card_inserted: the ATR, empty when the card left before it was read
};

// The events that take a reader from `before` to `after` (dwEventState values, counter in
// the high 16 bits). A reader seen for the first time (before == SCARD_STATE_UNAWARE)
// gives card_inserted when a card is in it. When the counter moved but presence did not,
// a card left and came back (or came and left): both events, in that order.
void card_events(const std::string& reader, DWORD before, DWORD after, const Bytes& atr,
                 std::vector<Event>& out);

struct MonitorOptions {
    std::chrono::milliseconds first_backoff{100};
    std::chrono::milliseconds max_backoff{2000};
};

class Monitor {
  public:
    static constexpr std::chrono::milliseconds forever = std::chrono::milliseconds::max();

    // Connects to pcscd and reads the current state; throws Error(pcsc) when pcscd is
    // not reachable (SCARD_E_NO_SERVICE).
    explicit Monitor(PcscApi api = PcscApi(), MonitorOptions options = {});
    Monitor(const Monitor&) = delete;
    Monitor& operator=(const Monitor&) = delete;

    // The readers as last seen; empty while pcscd is away.
    [[nodiscard]] std::vector<Reader> readers() const;
    [[nodiscard]] bool service_available() const;

    // Waits up to `timeout` (forever: no limit) for something to change and returns what
    // changed, in order. Empty: the time ran out with no change, or cancel() was called.
    // Throws Error(pcsc) for failures that are not pcscd going away.
    [[nodiscard]] std::vector<Event> next(std::chrono::milliseconds timeout);

    // Makes the current or the next call of next() return at once. Callable from another
    // thread (a thread that waits for signals, say), not from a signal handler.
    // pcsc-lite ignores SCardCancel until SCardGetStatusChange has registered its wait, and
    // a cancel can land in that gap; a caller that needs next() to return must call
    // cancel() again, every few tens of milliseconds, until it has.
    void cancel();

  private:
    struct Tracked {
        std::string name;
        DWORD state = SCARD_STATE_UNAWARE;
        Bytes atr;
    };
    using Clock = std::chrono::steady_clock;

    bool take_cancel();
    void establish();
    void lose(std::vector<Event>& events);
    void restore(Clock::time_point deadline, bool unlimited, std::vector<Event>& events);
    void sync_list(std::vector<Event>& events);
    void read_new(std::vector<Event>& events);
    void wait(DWORD timeout, std::vector<Event>& events);
    void apply(const std::vector<SCARD_READERSTATE>& states, std::vector<Event>& events);

    PcscApi api_;
    MonitorOptions options_;
    std::optional<Context> context_;
    std::vector<Tracked> readers_;
    DWORD pnp_state_ = SCARD_STATE_UNAWARE;
    std::chrono::milliseconds backoff_;

    mutable std::mutex mutex_;  // context_ (for cancel) and cancel_requested_
    std::condition_variable wake_;
    bool cancel_requested_ = false;
};

}  // namespace cac::pcsc
