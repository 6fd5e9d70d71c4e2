// The card in its reader: the Card (card.hpp) behind the vpcd connection, with the faults
// a test asks for on the control socket.
//
// "Present" is what the test wants (the card is in the reader); "connected" is whether the
// TCP connection to the driver is up at the moment. A present card whose connection
// breaks (pcscd stopped or restarted) keeps reconnecting, every 50 ms at first and at most
// every 200 ms after, so the card is back as soon as the driver listens again. The driver
// accepts a connection only when pcscd polls the slot, and then asks for the ATR at once;
// "atr_requested" says that this has happened on the current connection, which is the
// moment pcscd starts to see the card.
//
// The driver sends one message at a time and waits for the answer, so while an answer is
// held back (`delay`) anything else it sends waits in order behind it.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apdu_log.hpp"
#include "card.hpp"
#include "control.hpp"
#include "loop.hpp"
#include "vpcd_link.hpp"

namespace cardsim {

struct Settings {
    std::string vpcd_host = "127.0.0.1";
    std::uint16_t vpcd_port = 0;
    std::filesystem::path export_dir;
    bool no_card = false;
};

class Simulator {
  public:
    Simulator(const Settings& settings, LoadedProfile profile, ApduLog& log, Timers& timers);
    ~Simulator();

    // Puts the card in the reader unless the settings say to start without one.
    void start();

    const VpcdLink& link() const { return link_; }
    void on_link_ready(short revents);

    // One line from a control client; `reply` gets the answer, now or later.
    void handle_command(const std::string& line, const ControlServer::Reply& reply);

    bool quit_requested() const { return quit_; }
    bool ever_connected() const { return ever_connected_; }
    const std::string& last_link_error() const { return last_link_error_; }

  private:
    struct Waiter {
        ControlServer::Reply reply;
        Timers::Id timer;
    };

    // The connection.
    void connect_now();
    void schedule_reconnect();
    void on_connected();
    void on_link_lost(const std::string& why);
    void forget_connection();
    void send(const Bytes& payload);

    // Messages from the driver.
    void drain();
    void handle_message(const Bytes& message);
    void handle_control_code(std::uint8_t code);
    void handle_apdu(const Bytes& command);
    Bytes card_answer(const Bytes& command, std::string& event);
    std::optional<unsigned long> take_delay();
    void answer_apdu(const std::string& event, const Bytes& command, const Bytes& response,
                     nlohmann::json extra);
    void drop_card(const Bytes& command);

    // The card in and out of the reader.
    void insert_card();
    void remove_card(const std::string& event, nlohmann::json fields);
    void await_reader(const ControlServer::Reply& reply);
    void release_waiters();
    void switch_card(LoadedProfile profile, const ControlServer::Reply& reply);

    // Control commands (commands.cpp).
    nlohmann::json status() const;
    std::optional<std::string> run_command(const std::vector<std::string>& words,
                                           const std::string& rest,
                                           const ControlServer::Reply& reply);
    std::optional<std::string> command_delay(const std::vector<std::string>& words);
    std::optional<std::string> command_garbage(const std::vector<std::string>& words);
    std::optional<std::string> command_drop(const std::vector<std::string>& words);
    std::optional<std::string> command_log(const std::vector<std::string>& words,
                                           const ControlServer::Reply& reply);
    std::optional<std::string> command_profile(const std::filesystem::path& file,
                                               const ControlServer::Reply& reply);

    Settings settings_;
    ApduLog& log_;
    Timers& timers_;
    std::unique_ptr<Card> card_;
    std::filesystem::path profile_source_;
    VpcdLink link_;

    bool present_ = false;
    bool powered_ = false;
    bool atr_requested_ = false;
    bool ever_connected_ = false;
    bool quit_ = false;
    std::optional<std::uint8_t> last_control_code_;
    std::uint64_t apdus_ = 0;
    std::uint64_t atr_requests_ = 0;
    std::string last_link_error_;

    std::optional<Timers::Id> reconnect_timer_;
    int reconnect_backoff_ms_ = 0;

    std::deque<Bytes> queue_;
    std::optional<Timers::Id> answer_timer_;
    std::vector<Waiter> waiters_;

    // Faults asked for on the control socket.
    unsigned long delay_ms_ = 0;
    std::optional<unsigned long> delay_left_;  // empty: every answer until `delay 0`
    unsigned long garbage_left_ = 0;
    bool drop_armed_ = false;
    std::optional<unsigned long> reinsert_after_ms_;
    std::optional<Timers::Id> reinsert_timer_;
};

}  // namespace cardsim
