#include "core/pcsc/monitor.hpp"

#include <algorithm>
#include <utility>

#include "core/util/error.hpp"
#include "core/util/log.hpp"

namespace cac::pcsc {
namespace {

constexpr const char* pnp_name = "\\\\?PnP?\\Notification";

// Codes that mean pcscd went away (or the context died with it).
bool service_gone(LONG rv) {
    return rv == SCARD_E_NO_SERVICE || rv == SCARD_E_SERVICE_STOPPED || rv == SCARD_F_COMM_ERROR ||
           rv == SCARD_E_INVALID_HANDLE || rv == SCARD_P_SHUTDOWN;
}

bool service_gone(const Error& error) {
    return error.domain() == ErrorDomain::pcsc && service_gone(LONG(error.code()));
}

Event make_event(EventKind kind, std::string reader = {}, Bytes atr = {}) {
    return {kind, std::chrono::system_clock::now(), std::move(reader), std::move(atr)};
}

// What is left of a wait until `deadline`, as SCardGetStatusChange takes it.
DWORD remaining_ms(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto most = std::chrono::milliseconds(INFINITE - 1);
    return DWORD(std::clamp(left, std::chrono::milliseconds(0), most).count());
}

DWORD counter(DWORD state) {
    return (state >> 16) & 0xffff;
}

}  // namespace

std::string_view to_string(EventKind kind) {
    switch (kind) {
        case EventKind::reader_added:
            return "reader_added";
        case EventKind::reader_removed:
            return "reader_removed";
        case EventKind::card_inserted:
            return "card_inserted";
        case EventKind::card_removed:
            return "card_removed";
        case EventKind::service_lost:
            return "service_lost";
        case EventKind::service_restored:
            return "service_restored";
    }
    return "service_lost";
}

void card_events(const std::string& reader, DWORD before, DWORD after, const Bytes& atr,
                 std::vector<Event>& out) {
    bool was = before & SCARD_STATE_PRESENT;
    bool is = after & SCARD_STATE_PRESENT;
    if (before == SCARD_STATE_UNAWARE) {
        if (is)
            out.push_back(make_event(EventKind::card_inserted, reader, atr));
        return;
    }
    if (was != is) {
        out.push_back(is ? make_event(EventKind::card_inserted, reader, atr)
                         : make_event(EventKind::card_removed, reader));
        return;
    }
    if (counter(before) == counter(after))
        return;
    // Same presence, yet cards came and went in between: the last card's ATR is the
    // current one; a card that came and left again could not be read.
    if (is) {
        out.push_back(make_event(EventKind::card_removed, reader));
        out.push_back(make_event(EventKind::card_inserted, reader, atr));
    } else {
        out.push_back(make_event(EventKind::card_inserted, reader));
        out.push_back(make_event(EventKind::card_removed, reader));
    }
}

Monitor::Monitor(PcscApi api, MonitorOptions options)
    : api_(api), options_(options), backoff_(options.first_backoff) {
    establish();
    std::vector<Event> ignored;
    sync_list(ignored);
    read_new(ignored);
}

std::vector<Reader> Monitor::readers() const {
    std::vector<Reader> readers;
    for (const auto& tracked : readers_) {
        readers.push_back(
            {tracked.name, reader_state_from(tracked.state), tracked.state, tracked.atr});
    }
    return readers;
}

bool Monitor::service_available() const {
    std::lock_guard lock(mutex_);
    return context_.has_value();
}

void Monitor::cancel() {
    std::lock_guard lock(mutex_);
    cancel_requested_ = true;
    if (context_)
        context_->cancel();
    wake_.notify_all();
}

bool Monitor::take_cancel() {
    std::lock_guard lock(mutex_);
    return std::exchange(cancel_requested_, false);
}

void Monitor::establish() {
    Context context(api_);
    std::lock_guard lock(mutex_);
    context_.emplace(std::move(context));
}

void Monitor::lose(std::vector<Event>& events) {
    {
        std::lock_guard lock(mutex_);
        context_.reset();
    }
    readers_.clear();
    pnp_state_ = SCARD_STATE_UNAWARE;
    backoff_ = options_.first_backoff;
    events.push_back(make_event(EventKind::service_lost));
    log::info("pcsc", "pcscd went away; waiting for it to come back");
}

// One attempt to reach pcscd again; between attempts, sleeps the back-off (or less, at
// the deadline), waking early for cancel().
void Monitor::restore(Clock::time_point deadline, bool unlimited, std::vector<Event>& events) {
    try {
        establish();
    } catch (const Error& error) {
        if (!service_gone(error))
            throw;
        auto until = Clock::now() + backoff_;
        if (!unlimited)
            until = std::min(until, deadline);
        std::unique_lock lock(mutex_);
        wake_.wait_until(lock, until, [this] { return cancel_requested_; });
        backoff_ = std::min(backoff_ * 2, options_.max_backoff);
        return;
    }
    events.push_back(make_event(EventKind::service_restored));
    sync_list(events);
    read_new(events);
}

// Compares pcscd's reader list with the known one: reader_added for newcomers (their
// cards come from read_new), card_removed and reader_removed for readers gone.
void Monitor::sync_list(std::vector<Event>& events) {
    std::vector<std::string> names = context_->list_readers();
    for (auto it = readers_.begin(); it != readers_.end();) {
        if (std::find(names.begin(), names.end(), it->name) != names.end()) {
            ++it;
            continue;
        }
        if (it->state & SCARD_STATE_PRESENT)
            events.push_back(make_event(EventKind::card_removed, it->name));
        events.push_back(make_event(EventKind::reader_removed, it->name));
        it = readers_.erase(it);
    }
    for (const auto& name : names) {
        auto known = std::find_if(readers_.begin(), readers_.end(),
                                  [&](const Tracked& tracked) { return tracked.name == name; });
        if (known != readers_.end())
            continue;
        readers_.push_back({name, SCARD_STATE_UNAWARE, {}});
        events.push_back(make_event(EventKind::reader_added, name));
    }
}

// Reads, without waiting, the state of readers not seen yet.
void Monitor::read_new(std::vector<Event>& events) {
    bool any = std::any_of(readers_.begin(), readers_.end(), [](const Tracked& tracked) {
        return tracked.state == SCARD_STATE_UNAWARE;
    });
    if (any)
        wait(0, events);
}

void Monitor::wait(DWORD timeout, std::vector<Event>& events) {
    // pcsc-lite takes at most PCSCLITE_MAX_READERS_CONTEXTS entries; with that many
    // readers its table is full, so no reader can arrive and the PnP entry can go.
    std::size_t watched = std::min<std::size_t>(readers_.size(), PCSCLITE_MAX_READERS_CONTEXTS);
    std::vector<SCARD_READERSTATE> states(watched);
    for (std::size_t i = 0; i < watched; ++i) {
        states[i].szReader = readers_[i].name.c_str();
        states[i].dwCurrentState = readers_[i].state;
    }
    if (watched < PCSCLITE_MAX_READERS_CONTEXTS) {
        SCARD_READERSTATE pnp{};
        pnp.szReader = pnp_name;
        pnp.dwCurrentState = pnp_state_;
        states.push_back(pnp);
    }
    {
        // A cancel that came while this call was busy elsewhere must not be lost in a wait
        // that has not started: pcsc-lite drops an SCardCancel made outside a wait.
        std::lock_guard lock(mutex_);
        if (cancel_requested_)
            return;
    }
    LONG rv =
        api_.get_status_change(context_->handle(), timeout, states.data(), DWORD(states.size()));
    if (rv == SCARD_S_SUCCESS)
        return apply(states, events);
    if (rv == SCARD_E_TIMEOUT || rv == SCARD_E_CANCELLED)
        return;
    if (rv == SCARD_E_UNKNOWN_READER)
        return sync_list(events);
    if (service_gone(rv))
        return lose(events);
    throw Error(ErrorDomain::pcsc, std::uint32_t(rv), "wait for reader events");
}

void Monitor::apply(const std::vector<SCARD_READERSTATE>& states, std::vector<Event>& events) {
    bool list_changed = false;
    std::vector<std::string> gone;
    for (const auto& state : states) {
        DWORD event_state = state.dwEventState & ~DWORD(SCARD_STATE_CHANGED);
        if (state.szReader == std::string_view(pnp_name)) {
            list_changed = state.dwEventState & SCARD_STATE_CHANGED;
            pnp_state_ = event_state;
            continue;
        }
        auto& tracked = *std::find_if(readers_.begin(), readers_.end(),
                                      [&](const Tracked& t) { return t.name == state.szReader; });
        if (event_state & SCARD_STATE_UNKNOWN) {
            list_changed = true;  // the reader left; sync_list reports it
            continue;
        }
        Bytes atr;
        if (event_state & SCARD_STATE_PRESENT)
            atr.assign(state.rgbAtr, state.rgbAtr + std::min<DWORD>(state.cbAtr, MAX_ATR_SIZE));
        card_events(tracked.name, tracked.state, event_state, atr, events);
        tracked.state = event_state;
        tracked.atr = std::move(atr);
    }
    if (list_changed)
        sync_list(events);
}

std::vector<Event> Monitor::next(std::chrono::milliseconds timeout) {
    bool unlimited = timeout == forever;
    auto deadline = unlimited ? Clock::time_point::max() : Clock::now() + timeout;
    std::vector<Event> events;
    while (events.empty() && !take_cancel()) {
        try {
            if (!context_) {
                restore(deadline, unlimited, events);
            } else {
                sync_list(events);
                read_new(events);
                if (events.empty()) {
                    wait(unlimited ? INFINITE : remaining_ms(deadline), events);
                    read_new(events);  // readers the wait announced, with their cards
                }
            }
        } catch (const Error& error) {
            if (!service_gone(error) || !context_)
                throw;
            lose(events);
        }
        if (!unlimited && Clock::now() >= deadline)
            break;
    }
    return events;
}

}  // namespace cac::pcsc
