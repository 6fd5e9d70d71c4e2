// The transport rules between one command the user means and the APDUs that carry it.
//
// A card may answer in pieces, refuse a length, or need the data in several commands;
// ISO/IEC 7816-4:2013 and 7816-3 settle how a reader copes, and this applies those rules
// over any CardChannel (PC/SC in the tool, a simulated card or a scripted fake in tests):
//
//   - 61xx (7816-4 5.6, 7816-3 10.3.3): the answer goes on; GET RESPONSE (CLA INS C0
//     P1 00 P2 00, Le = xx, 00 meaning 256) fetches the next piece, again until a status
//     other than 61xx. The data of all pieces is joined. The total is bounded
//     (max_response_bytes), and so is the number of transmits.
//   - 6Cxx (7816-3 10.3.3): the Le was wrong; the same command is sent once more with
//     Le = xx. A second 6Cxx for the same command is the answer.
//   - An error status in the middle (a chain link refused, a GET RESPONSE failing) stops
//     the exchange: the result carries that status and whatever data came before it, and
//     says it was interrupted.
//   - Command chaining (7816-4 5.1.1.1): data over 255 bytes goes in pieces of at most
//     255, CLA bit 0x10 set on all but the last, when `chain` is asked or when the
//     extended command would not fit the reader's max APDU size. Each link must answer
//     9000.
//   - A 61xx left unfetched (an exchange stopped at a limit, or GET RESPONSE turned off)
//     is drained before the next command, so the card never sees a new command while it
//     still waits for GET RESPONSE (some cards answer that with 6883 or lose the data);
//     a GET RESPONSE sent by the caller is the exception, it fetches the data itself.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/apdu/command.hpp"
#include "core/apdu/response.hpp"
#include "core/util/error.hpp"

namespace cac {

// Something that carries one APDU to a card and brings the answer back (data and SW1 SW2).
// Transport failures (card removed, reader gone) are thrown as cac::Error.
class CardChannel {
  public:
    virtual ~CardChannel() = default;
    virtual Bytes transmit(std::span<const std::uint8_t> apdu) = 0;
};

struct ExchangeOptions {
    bool get_response = true;  // fetch 61xx answers with GET RESPONSE
    bool resend_on_6c = true;  // resend with the Le a 6Cxx names
    bool chain = false;        // --chain: send data over 255 bytes with command chaining
    // The longest APDU the reader carries (PC/SC part 10's max APDU size feature). 261 or
    // less means short APDUs only: an extended command is then shortened (Le at most 256,
    // the rest through 61xx) or, with over 255 data bytes, chained.
    std::size_t max_apdu_size = kMaxApduSize;
    std::size_t max_response_bytes = 1 << 20;
    std::size_t max_transmits = 4096;
};

// What one APDU on the wire was for.
enum class TransmitPurpose { command, chain_link, get_response, resend, drain };

std::string_view to_string(TransmitPurpose purpose);

struct Transmission {
    TransmitPurpose purpose = TransmitPurpose::command;
    // The command as sent; for one that carries a PIN or PUK (carries_secret), only its
    // header and Lc: this copy outlives the exchange, and the buffer sent is wiped.
    Bytes command;
    std::size_t sent = 0;  // the command's length on the wire
    Bytes response;
    std::chrono::nanoseconds duration{0};
};

struct ExchangeStats {
    std::size_t bytes_sent = 0;
    std::size_t bytes_received = 0;
    std::size_t transmits = 0;
    std::chrono::nanoseconds duration{0};
};

struct ExchangeResult {
    ApduResponse response;  // the joined data and the final status word
    std::vector<Transmission> transmissions;
    ExchangeStats stats;
    // A chain or a GET RESPONSE sequence stopped before its end; `note` says why.
    bool interrupted = false;
    std::string note;
    // The channel failed (thrown by CardChannel::transmit) or answered without a status
    // word; `response` is then meaningless but `transmissions` holds what was exchanged.
    std::optional<Error> failure;
};

class ApduExchanger {
  public:
    explicit ApduExchanger(CardChannel& channel, ExchangeOptions options = {});

    ExchangeResult exchange(const ApduCommand& command);

    // The card announced data (61xx) that no GET RESPONSE has fetched yet.
    bool pending() const { return pending_.has_value(); }
    // After a card reset nothing is pending any more.
    void forget_pending() { pending_.reset(); }

    const ExchangeOptions& options() const { return options_; }

  private:
    class Run;

    CardChannel& channel_;
    ExchangeOptions options_;
    // The CLA and SW2 of an unfetched 61xx.
    struct Pending {
        std::uint8_t cla;
        std::uint8_t sw2;
    };
    std::optional<Pending> pending_;
};

}  // namespace cac
