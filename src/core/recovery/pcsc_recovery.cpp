#include "core/recovery/pcsc_recovery.hpp"

#include <algorithm>
#include <thread>
#include <utility>

#include "core/util/log.hpp"

namespace cac {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* pnp_name = "\\\\?PnP?\\Notification";

// pcsc-lite 1.9.9 flags a change of the reader list only when it happens during a wait;
// a reader that arrives between listing and waiting would be seen only at the deadline.
// So a wait for the reader list lasts at most this long before the list is read again.
constexpr milliseconds reader_list_slice{1000};
// After a card pcscd shows present failed on the way, how long to wait for pcscd to see a
// change before connecting again anyway. pcscd looks at a reader every 400 ms or so (vpcd),
// and a card pulled and put back between two looks, or while a loaded machine delays
// them, leaves no change at all to wait for.
constexpr milliseconds unseen_change_slice{1000};

// How long to wait between attempts to reach a pcscd that went away: it cannot say when
// it is back.
constexpr milliseconds first_context_pause{100};
constexpr milliseconds max_context_pause{1000};

bool is_pcsc(const Error& error, LONG rv) {
    return error.is(ErrorDomain::pcsc, std::uint32_t(rv));
}

// The card is not in the reader (any more, or not yet again).
bool card_away(const Error& error) {
    return is_pcsc(error, SCARD_W_REMOVED_CARD) || is_pcsc(error, SCARD_E_NO_SMARTCARD);
}

// The card went while it was being connected to and entered: pcscd notices a card pulled
// out only at its next look at the reader (every 400 ms for vpcd), and until then shows it
// present; a command to it then fails in the driver (SCARD_E_NOT_TRANSACTED) or comes back
// empty (SCARD_E_COMM_DATA_LOST).
bool lost_on_the_way(const Error& error) {
    return card_away(error) || is_pcsc(error, SCARD_E_NOT_TRANSACTED) ||
           is_pcsc(error, SCARD_E_COMM_DATA_LOST);
}

// Codes that SCardReconnect on the handle we have can mend: the card is still there.
bool card_still_there(const Error& error) {
    return is_pcsc(error, SCARD_W_RESET_CARD) || is_pcsc(error, SCARD_W_UNPOWERED_CARD) ||
           is_pcsc(error, SCARD_E_PROTO_MISMATCH);
}

// How a card pulled out just before the first command shows, while pcscd has not looked
// at the reader yet (see lost_on_the_way); an answer lost on the way is not among them.
bool gone_before_answering(const Error& error) {
    return card_away(error) || is_pcsc(error, SCARD_E_NOT_TRANSACTED);
}

bool service_gone(const Error& error) {
    return error.domain() == ErrorDomain::pcsc &&
           error.taxonomy().action == RecoveryAction::reestablish_context;
}

// What is left until `deadline`, as SCardGetStatusChange takes it.
DWORD wait_ms(Clock::time_point deadline, milliseconds most = milliseconds(INFINITE - 1)) {
    if (deadline == Clock::time_point::max() && most.count() >= INFINITE - 1)
        return INFINITE;
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    return DWORD(std::clamp(left, milliseconds(0), most).count());
}

}  // namespace

PcscRecoverer::PcscRecoverer(pcsc::Context context, std::string reader)
    : api_(context.api()),
      context_(std::move(context)),
      reader_(std::move(reader)),
      sleep_([](milliseconds pause) { std::this_thread::sleep_for(pause); }) {
    card_.emplace(*context_, reader_);
    atr_ = card_->status().atr;
}

pcsc::CardHandle& PcscRecoverer::card() {
    if (!card_) {
        throw error(SCARD_W_REMOVED_CARD, "transmit to the card",
                    "there is no connection to the card since a recovery failed");
    }
    return *card_;
}

Bytes PcscRecoverer::Channel::transmit(std::span<const std::uint8_t> apdu) {
    Bytes answer;
    try {
        answer = owner_.card().transmit(apdu);
    } catch (const Error& e) {
        if (!owner_.answered_ && gone_before_answering(e))
            throw owner_.no_card(e);
        throw;
    }
    // An empty answer is how vpcd, and some drivers, show a connection that closed.
    if (!owner_.answered_ && answer.empty()) {
        throw owner_.no_card(
            owner_.error(SCARD_E_COMM_DATA_LOST, "transmit to the card", "the answer is empty"));
    }
    owner_.answered_ = owner_.answered_ || answer.size() >= 2;
    return answer;
}

void PcscRecoverer::confirm_card() {
    // SCardBeginTransaction reports a reset or removal this handle has not been told of.
    card().begin_transaction().end();
}

void PcscRecoverer::set_identity(Identify identify, Bytes expected) {
    identify_ = std::move(identify);
    identity_ = std::move(expected);
}

bool PcscRecoverer::can(RecoveryAction action) const {
    return action == RecoveryAction::retry || action == RecoveryAction::reconnect ||
           action == RecoveryAction::reestablish_context;
}

bool PcscRecoverer::takes(const Error& error) const {
    if (!answered_ && card_away(error))
        return false;
    return can(error.taxonomy().action);
}

std::optional<Error> PcscRecoverer::cause_of(const Error& error) {
    if (error.domain() != ErrorDomain::status_word || !card_)
        return std::nullopt;
    try {
        confirm_card();
    } catch (const Error& e) {
        log::info("recovery", "the card answered " + error.code_text() + " after " + e.code_text() +
                                  ": the command met that, not a refusal");
        return e;
    }
    return std::nullopt;
}

void PcscRecoverer::recover(RecoveryAction action, const Error& failure,
                            Clock::time_point deadline) {
    try {
        take(action, failure, deadline);
    } catch (const Error& e) {
        if (!answered_ && gone_before_answering(e))
            throw no_card(e);
        throw;
    }
}

void PcscRecoverer::take(RecoveryAction action, const Error& failure, Clock::time_point deadline) {
    switch (action) {
        case RecoveryAction::retry:
            // An answer lost on the way leaves unknown what the card did, and pcscd may
            // not yet have seen a card swapped in (it looks at the reader only every so
            // often): the card is checked and entered again before anything is read.
            if (card_)
                check_same_card();
            return;
        case RecoveryAction::reconnect:
            if (card_ && card_still_there(failure))
                return reconnect_in_place(failure, deadline);
            card_.reset();
            return find_card_again(deadline);
        case RecoveryAction::reestablish_context:
            // The handle goes before its context, and both before pcscd is asked again.
            card_.reset();
            context_.reset();
            establish(deadline);
            return find_card_again(deadline);
        default:
            throw failure;
    }
}

void PcscRecoverer::reconnect_in_place(const Error& failure, Clock::time_point deadline) {
    try {
        card_->reconnect(pcsc::ShareMode::shared, pcsc::protocols::any, pcsc::Disposition::leave);
    } catch (const Error& e) {
        if (!card_away(e))
            throw;
        // Reset, then pulled out: it has to come back, and be checked, like any card.
        card_.reset();
        return find_card_again(deadline);
    }
    log::info("recovery",
              "reconnected to the card in \"" + reader_ + "\" after " + failure.code_text());
    reenter();
}

void PcscRecoverer::establish(Clock::time_point deadline) {
    milliseconds pause = first_context_pause;
    for (;;) {
        try {
            context_.emplace(api_);
            log::info("recovery", "pcscd answers again");
            return;
        } catch (const Error& e) {
            if (!service_gone(e))
                throw;
            if (Clock::now() + pause >= deadline) {
                throw error(LONG(e.code()), "reach pcscd again",
                            "pcscd did not come back within the time allowed");
            }
        }
        sleep_(pause);
        pause = std::min(pause * 2, max_context_pause);
    }
}

void PcscRecoverer::find_card_again(Clock::time_point deadline) {
    log::info("recovery", "waiting for the card to be back in \"" + reader_ + "\"");
    DWORD seen = SCARD_STATE_UNAWARE;
    bool failed_on_the_way = false;
    for (;;) {
        connect_when_present(seen, deadline, failed_on_the_way);
        try {
            return check_same_card();
        } catch (const Error& e) {
            // Gone again, or never really back: the next change of the reader's state is
            // waited for, rather than an attempt of the policy spent on pcscd's delay.
            if (!lost_on_the_way(e))
                throw;
            card_.reset();
            failed_on_the_way = true;
        }
    }
}

void PcscRecoverer::connect_when_present(DWORD& seen, Clock::time_point deadline,
                                         bool change_may_go_unseen) {
    for (;;) {
        if (!wait_for_card(seen, deadline, change_may_go_unseen)) {
            wait_for_readers(deadline);
            seen = SCARD_STATE_UNAWARE;
            continue;
        }
        try {
            card_.emplace(*context_, reader_);
            return;
        } catch (const Error& e) {
            // Gone again between the wait and the connect: wait for the next change.
            if (!card_away(e))
                throw;
        }
    }
}

bool PcscRecoverer::wait_for_card(DWORD& seen, Clock::time_point deadline,
                                  bool change_may_go_unseen) {
    SCARD_READERSTATE state{};
    state.szReader = reader_.c_str();
    milliseconds most = change_may_go_unseen ? unseen_change_slice : milliseconds(INFINITE - 1);
    for (;;) {
        state.dwCurrentState = seen;
        LONG rv = api_.get_status_change(context_->handle(), wait_ms(deadline, most), &state, 1);
        if (rv == SCARD_E_UNKNOWN_READER)
            return false;
        bool card_shown = (seen & SCARD_STATE_PRESENT) && !(seen & SCARD_STATE_MUTE);
        if (rv == SCARD_E_TIMEOUT && change_may_go_unseen && card_shown &&
            Clock::now() < deadline) {
            return true;  // no change seen, but a card is shown: try it again
        }
        if (rv == SCARD_E_TIMEOUT) {
            throw error(SCARD_E_NO_SMARTCARD, "wait for the card",
                        "the card was not back in the reader within the time allowed");
        }
        if (rv != SCARD_S_SUCCESS)
            throw error(rv, "wait for the card");
        seen = state.dwEventState & ~DWORD(SCARD_STATE_CHANGED);
        if (seen & SCARD_STATE_UNKNOWN)
            return false;
        // A mute card did not answer its reset; it may yet be pulled and put back.
        if ((seen & SCARD_STATE_PRESENT) && !(seen & SCARD_STATE_MUTE))
            return true;
        if (Clock::now() >= deadline) {
            throw error(SCARD_E_NO_SMARTCARD, "wait for the card",
                        "the card was not back in the reader within the time allowed");
        }
    }
}

void PcscRecoverer::wait_for_readers(Clock::time_point deadline) {
    DWORD known = SCARD_STATE_UNAWARE;
    for (;;) {
        std::vector<std::string> names = context_->list_readers();
        if (std::find(names.begin(), names.end(), reader_) != names.end())
            return;
        if (Clock::now() >= deadline) {
            throw error(SCARD_E_UNKNOWN_READER, "wait for the reader",
                        "the reader was not back within the time allowed");
        }
        SCARD_READERSTATE pnp{};
        pnp.szReader = pnp_name;
        pnp.dwCurrentState = known;
        LONG rv = api_.get_status_change(context_->handle(), wait_ms(deadline, reader_list_slice),
                                         &pnp, 1);
        if (rv == SCARD_S_SUCCESS)
            known = pnp.dwEventState & ~DWORD(SCARD_STATE_CHANGED);
        else if (rv != SCARD_E_TIMEOUT)
            throw error(rv, "wait for the reader");
    }
}

void PcscRecoverer::check_same_card() {
    Bytes now = card_->status().atr;
    if (now != atr_) {
        throw Error(CoreCode::card_changed, "find the card again in \"" + reader_ + "\"",
                    "the card now in the reader has another ATR (" + to_hex(now) + ", was " +
                        to_hex(atr_) + "): it is not the card that was being read");
    }
    reenter();
    if (identify_ && identify_() != identity_) {
        throw Error(CoreCode::card_changed, "find the card again in \"" + reader_ + "\"",
                    "the card now in the reader has the same ATR but another identity: it "
                    "is not the card that was being read");
    }
    log::info("recovery", "the card in \"" + reader_ + "\" is the one that was being read");
}

void PcscRecoverer::reenter() {
    if (reenter_)
        reenter_();
}

Error PcscRecoverer::no_card(const Error& cause) const {
    Error e = error(SCARD_E_NO_SMARTCARD, "find a card in the reader",
                    "the card went before it answered its first command");
    e.with_cause(cause);
    return e;
}

Error PcscRecoverer::error(LONG rv, std::string operation, std::string reason) const {
    Error e(ErrorDomain::pcsc, std::uint32_t(rv), std::move(operation), std::move(reason));
    ErrorContext where;
    where.reader = reader_;
    e.with_context(where);
    return e;
}

}  // namespace cac
