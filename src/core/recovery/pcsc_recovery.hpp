// Recovery for work on a card over PC/SC, in one reader:
//
// - The card was reset by someone else (SCARD_W_RESET_CARD; also a card without power or
//   a protocol that no longer fits): SCardReconnect on the same handle, leaving the card
//   as it is, then the caller's re-enter step, because a reset forgets the selected
//   application (for PIV: SELECT it again).
// - The card went away (SCARD_W_REMOVED_CARD, SCARD_E_NO_SMARTCARD): wait in
//   SCardGetStatusChange, never polling, until a card is in the same reader or the
//   deadline passes; connect to it; check it is the same card (the same ATR, then the
//   caller's identity, such as the PIV CHUID read at the start); re-enter.
// - pcscd went away (SCARD_E_NO_SERVICE, SCARD_E_SERVICE_STOPPED, SCARD_F_COMM_ERROR,
//   ...): a new context, tried again with a growing pause until pcscd answers (pcscd
//   has no way to tell a client it is back), then as for a card that went away.
//
// - An answer lost on the way (SCARD_E_COMM_DATA_LOST, taxonomy action retry): the same
//   checks and the re-enter step on the handle as it is, then the operation again.
//
// Until the card has answered a command, none of this applies: a card pulled out just
// before the run (pcscd, which looks at a reader only every so often, may still show it
// present, and the first command then fails in the driver or comes back empty) is an
// empty reader, SCARD_E_NO_SMARTCARD given up at once, as the connect gives it when pcscd
// knows. A start-up is not a recovery.
//
// A different card in the reader is never read in the place of the first one: that is a
// CoreCode::card_changed error, which ends the recovery, so a listing never mixes two
// people's certificates.
//
// The transport errors a recovery meets on the way (the card pulled again while it is
// selected) are thrown as they are: the policy counts the attempt as failed and decides
// whether to try again.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/apdu/exchange.hpp"
#include "core/pcsc/card_handle.hpp"
#include "core/pcsc/context.hpp"
#include "core/recovery/policy.hpp"

namespace cac {

class PcscRecoverer : public Recoverer {
  public:
    using Step = std::function<void()>;
    // Reads what tells this card from another of the same make (PIV: the CHUID).
    using Identify = std::function<Bytes()>;
    using Sleeper = std::function<void(std::chrono::milliseconds)>;

    // Connects (shared) to the card in `reader` and notes its ATR; throws as CardHandle
    // does, so an empty reader at the start is SCARD_E_NO_SMARTCARD, not a wait.
    PcscRecoverer(pcsc::Context context, std::string reader);
    PcscRecoverer(const PcscRecoverer&) = delete;
    PcscRecoverer& operator=(const PcscRecoverer&) = delete;

    // The handle to work with: a new one after a recovery that had to connect again.
    // Throws SCARD_W_REMOVED_CARD while there is none (a recovery that failed half way).
    [[nodiscard]] pcsc::CardHandle& card();
    // A channel over whatever handle is current, for an ApduExchanger that lives through
    // recoveries.
    [[nodiscard]] CardChannel& channel() { return channel_; }
    [[nodiscard]] const Bytes& atr() const { return atr_; }
    [[nodiscard]] const std::string& reader() const { return reader_; }

    // Asks pcscd whether the card was reset or taken out since the last command, and
    // throws that as it answers (SCARD_W_RESET_CARD, ...).
    void confirm_card();

    // Run after every reconnection, before the operation runs again.
    void set_reenter(Step reenter) { reenter_ = std::move(reenter); }
    // After a reconnection to a card that was away, `identify` must give `expected`
    // (after the re-enter step), or the card is another one.
    void set_identity(Identify identify, Bytes expected);
    // How a new context is waited for: for unit tests.
    void set_sleeper(Sleeper sleeper) { sleep_ = std::move(sleeper); }

    [[nodiscard]] bool can(RecoveryAction action) const override;
    [[nodiscard]] bool takes(const Error& error) const override;
    // A command that passed pcscd's check just before another program's reset still
    // reaches the reset card, and gets a refusal (6D00, 6985) instead of
    // SCARD_W_RESET_CARD: after any status word given as an error, pcscd is asked
    // (confirm_card), and a reset or removal it reports is what the error was.
    [[nodiscard]] std::optional<Error> cause_of(const Error& error) override;
    void recover(RecoveryAction action, const Error& error,
                 std::chrono::steady_clock::time_point deadline) override;

  private:
    class Channel : public CardChannel {
      public:
        explicit Channel(PcscRecoverer& owner) : owner_(owner) {}
        Bytes transmit(std::span<const std::uint8_t> apdu) override;

      private:
        PcscRecoverer& owner_;
    };
    using Clock = std::chrono::steady_clock;

    void take(RecoveryAction action, const Error& failure, Clock::time_point deadline);
    void reconnect_in_place(const Error& error, Clock::time_point deadline);
    void establish(Clock::time_point deadline);
    // Waits for a card, connects, and checks it is the same card, re-entered.
    void find_card_again(Clock::time_point deadline);
    // Connects once the reader's state differs from `seen` and shows a card.
    // `change_may_go_unseen`: see wait_for_card.
    void connect_when_present(DWORD& seen, Clock::time_point deadline, bool change_may_go_unseen);
    // Blocks until the reader's state differs from `seen` and holds a card that answered
    // its reset; `seen` is then that state. False when the reader is not there (the
    // caller waits for the reader list to change). With `change_may_go_unseen` (the card
    // pcscd shows failed on the way), also true when a short wait sees no change while
    // `seen` shows a card: pcscd may have missed the card going and coming back.
    [[nodiscard]] bool wait_for_card(DWORD& seen, Clock::time_point deadline,
                                     bool change_may_go_unseen);
    void wait_for_readers(Clock::time_point deadline);
    void check_same_card();
    void reenter();
    Error error(LONG rv, std::string operation, std::string reason = {}) const;
    // SCARD_E_NO_SMARTCARD for a card that went before it answered anything.
    Error no_card(const Error& cause) const;

    pcsc::PcscApi api_;
    std::optional<pcsc::Context> context_;
    std::string reader_;
    std::optional<pcsc::CardHandle> card_;
    Bytes atr_;
    Channel channel_{*this};
    Step reenter_;
    Identify identify_;
    Bytes identity_;
    Sleeper sleep_;
    bool answered_ = false;  // the card has answered a command with a status word
};

}  // namespace cac
