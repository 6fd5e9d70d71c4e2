// The card's end of vsmartcard's vpcd protocol: one TCP connection to the reader driver.
//
// The driver (ifd-vpcd inside pcscd) listens; the card connects. Every message either way
// is a 2-byte big-endian length and that many bytes. From the driver, a 1-byte message is
// a control code (power off, power on, reset, ATR request) and anything longer a command
// APDU; the card answers an ATR request with the ATR and a command with its response.
// Power codes get no answer. The driver reads a closed connection, or an answer of length
// zero, as the card taken out, so the card never sends an empty answer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "loop.hpp"

namespace cardsim {

class VpcdLink {
  public:
    enum class State { closed, connecting, connected };

    // What one round of poll() brought.
    struct Events {
        bool connected = false;  // the connection has just been established
        bool closed = false;     // the connection failed or ended; `error` says why
        std::string error;
        std::vector<std::vector<std::uint8_t>> messages;
    };

    VpcdLink(std::string host, std::uint16_t port);

    // Starts a non-blocking connect. False with `error` when it failed at once.
    bool connect(std::string& error);
    void close();

    State state() const { return state_; }
    int fd() const { return fd_.get(); }
    short poll_events() const;
    Events on_ready(short revents);

    // The longest message the 16-bit length field can carry.
    static constexpr std::size_t kMaxPayload = 0xFFFF;

    // Queues one message (length prefix added) and sends what the socket takes now; the
    // rest goes when poll() says the socket is writable. False with `error` (the link is
    // then closed) when the connection failed.
    bool send(std::span<const std::uint8_t> payload, std::string& error);

    std::string address() const;

  private:
    bool finish_connect(Events& events);
    bool read_messages(Events& events);
    bool flush(Events& events);
    void fail(Events& events, std::string why);

    std::string host_;
    std::uint16_t port_;
    UniqueFd fd_;
    State state_ = State::closed;
    std::vector<std::uint8_t> in_;
    std::vector<std::uint8_t> out_;
};

}  // namespace cardsim
