// A connection to a card (SCARDHANDLE) owned by an object, and transactions on it.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/pcsc/context.hpp"
#include "core/util/error.hpp"
#include "core/util/hex.hpp"

namespace cac::pcsc {

enum class ShareMode : DWORD {
    shared = SCARD_SHARE_SHARED,
    exclusive = SCARD_SHARE_EXCLUSIVE,
    // No card needed: for SCardControl to the reader itself.
    direct = SCARD_SHARE_DIRECT,
};

// What happens to the card when a handle is closed, reconnected or a transaction ends.
enum class Disposition : DWORD {
    leave = SCARD_LEAVE_CARD,
    reset = SCARD_RESET_CARD,
    unpower = SCARD_UNPOWER_CARD,
    eject = SCARD_EJECT_CARD,
};

// Preferred protocols, SCARD_PROTOCOL_* bits.
namespace protocols {
constexpr DWORD t0 = SCARD_PROTOCOL_T0;
constexpr DWORD t1 = SCARD_PROTOCOL_T1;
constexpr DWORD any = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1;
constexpr DWORD none = 0;  // direct connections
}  // namespace protocols

// "T=0", "T=1", "raw", "none" for an active protocol.
std::string protocol_name(DWORD protocol);

// SCardStatus, decoded. The SCARD_* card state values pcsc-lite reports are bits.
struct CardStatus {
    std::string reader;
    DWORD state = 0;
    bool absent = false;
    bool present = false;
    bool swallowed = false;
    bool powered = false;
    bool negotiable = false;
    bool specific = false;
    DWORD protocol = 0;
    Bytes atr;
};

class Transaction;

class CardHandle {
  public:
    // Connects to `reader`; throws Error(pcsc) naming the reader (SCARD_E_NO_SMARTCARD,
    // SCARD_E_SHARING_VIOLATION, SCARD_W_UNRESPONSIVE_CARD, ...). `on_close` is what the
    // destructor does to the card.
    CardHandle(const Context& context, std::string reader, ShareMode share = ShareMode::shared,
               DWORD preferred = protocols::any, Disposition on_close = Disposition::leave);
    ~CardHandle();
    CardHandle(const CardHandle&) = delete;
    CardHandle& operator=(const CardHandle&) = delete;
    CardHandle(CardHandle&& other) noexcept;
    CardHandle& operator=(CardHandle&& other) noexcept;

    SCARDHANDLE handle() const { return handle_; }
    const std::string& reader() const { return reader_; }
    DWORD protocol() const { return protocol_; }
    const PcscApi& api() const { return api_; }

    void set_disposition(Disposition on_close) { on_close_ = on_close; }

    // SCardReconnect: after SCARD_W_RESET_CARD, or to reset the card on purpose
    // (`initialization` reset).
    void reconnect(ShareMode share, DWORD preferred, Disposition initialization);
    [[nodiscard]] CardStatus status() const;
    // Sends a command APDU with the PCI of the active protocol; the response includes
    // SW1 SW2. Throws Error(pcsc) on failure; a handle opened in direct mode has no
    // protocol and cannot transmit.
    [[nodiscard]] Bytes transmit(std::span<const std::uint8_t> command) const;
    // SCardControl with an answer of at most `max_answer` bytes.
    [[nodiscard]] Bytes control(DWORD code, std::span<const std::uint8_t> input = {},
                                std::size_t max_answer = MAX_BUFFER_SIZE) const;
    [[nodiscard]] Bytes get_attrib(DWORD attribute) const;
    // SCardBeginTransaction; the transaction ends when the guard goes.
    [[nodiscard]] Transaction begin_transaction() const;

  private:
    void disconnect() noexcept;
    Error failure(LONG rv, std::string operation) const;

    PcscApi api_;
    std::string reader_;
    SCARDHANDLE handle_ = 0;
    DWORD protocol_ = 0;
    Disposition on_close_ = Disposition::leave;
    bool owned_ = false;
};

// Holds a PC/SC transaction: no other application talks to the card until it ends.
class Transaction {
  public:
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&&) = delete;

    // Ends the transaction now, doing `disposition` to the card; throws Error(pcsc).
    void end(Disposition disposition = Disposition::leave);

  private:
    friend class CardHandle;
    Transaction(const PcscApi& api, SCARDHANDLE handle) : api_(api), handle_(handle) {}

    PcscApi api_;
    SCARDHANDLE handle_ = 0;
    bool active_ = true;
};

}  // namespace cac::pcsc
