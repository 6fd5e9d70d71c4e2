#include "simulator.hpp"

#include <cstdio>

namespace cardsim {

namespace {

// vpcd control codes (one-byte messages from the driver).
constexpr std::uint8_t kPowerOff = 0;
constexpr std::uint8_t kPowerOn = 1;
constexpr std::uint8_t kReset = 2;
constexpr std::uint8_t kGetAtr = 4;

constexpr int kFirstRetryMs = 50;
constexpr int kLongestRetryMs = 200;

// How long `insert` waits for the driver to take the card before answering anyway: pcscd
// polls a vpcd slot every 400 ms, and a card swapped in place needs two polls (one to see
// the old connection closed, one to accept the new).
constexpr std::chrono::milliseconds kReaderWait{5000};

}  // namespace

Simulator::Simulator(const Settings& settings, LoadedProfile profile, ApduLog& log, Timers& timers)
    : settings_(settings),
      log_(log),
      timers_(timers),
      card_(std::make_unique<Card>(std::move(profile.profile))),
      profile_source_(std::move(profile.source)),
      link_(settings.vpcd_host, settings.vpcd_port) {}

Simulator::~Simulator() = default;

void Simulator::start() {
    if (!settings_.no_card) {
        present_ = true;
        connect_now();
    }
}

// --- the connection -------------------------------------------------------------------

void Simulator::connect_now() {
    reconnect_timer_.reset();
    std::string error;
    if (!link_.connect(error)) {
        last_link_error_ = error;
        schedule_reconnect();
        return;
    }
    if (link_.state() == VpcdLink::State::connected) {
        on_connected();
    }
}

void Simulator::schedule_reconnect() {
    if (!present_ || reconnect_timer_) {
        return;
    }
    reconnect_backoff_ms_ = reconnect_backoff_ms_ == 0
                                ? kFirstRetryMs
                                : std::min(reconnect_backoff_ms_ * 2, kLongestRetryMs);
    reconnect_timer_ =
        timers_.add(std::chrono::milliseconds(reconnect_backoff_ms_), [this] { connect_now(); });
}

void Simulator::on_link_ready(short revents) {
    const bool was_connected = link_.state() == VpcdLink::State::connected;
    VpcdLink::Events events = link_.on_ready(revents);
    if (events.connected) {
        on_connected();
    }
    if (events.closed) {
        // What came with the end of the connection cannot be answered any more.
        last_link_error_ = events.error;
        if (was_connected) {
            on_link_lost(events.error);
        } else {
            schedule_reconnect();
        }
        return;
    }
    for (Bytes& message : events.messages) {
        queue_.push_back(std::move(message));
    }
    drain();
}

void Simulator::on_connected() {
    ever_connected_ = true;
    reconnect_backoff_ms_ = 0;
    atr_requested_ = false;
    last_control_code_.reset();
    log_.add("connect", {{"address", link_.address()}});
    std::fprintf(stderr, "cardsim: connected to vpcd at %s\n", link_.address().c_str());
}

// The reader went away without the test taking the card out: pcscd stopped, restarted or
// crashed. The card loses power, as in a reader that is unplugged, and waits to come back.
void Simulator::on_link_lost(const std::string& why) {
    std::fprintf(stderr, "cardsim: lost the connection to vpcd: %s\n", why.c_str());
    forget_connection();
    log_.add("disconnect", {{"reason", why}});
    schedule_reconnect();
}

void Simulator::forget_connection() {
    link_.close();
    queue_.clear();
    if (answer_timer_) {
        timers_.cancel(*answer_timer_);
        answer_timer_.reset();
    }
    card_->power_off();
    powered_ = false;
    atr_requested_ = false;
}

void Simulator::send(const Bytes& payload) {
    std::string error;
    if (!link_.send(payload, error)) {
        last_link_error_ = error;
        on_link_lost(error);
    }
}

// --- messages from the driver -----------------------------------------------------------

void Simulator::drain() {
    while (!answer_timer_ && !queue_.empty() && link_.state() == VpcdLink::State::connected) {
        const Bytes message = std::move(queue_.front());
        queue_.pop_front();
        handle_message(message);
    }
}

void Simulator::handle_message(const Bytes& message) {
    if (message.size() == 1) {
        handle_control_code(message[0]);
    } else if (message.empty()) {
        // The driver never sends an empty message; note it rather than guess a meaning.
        log_.add("ignored", {{"command", ""}});
    } else {
        handle_apdu(message);
    }
}

void Simulator::handle_control_code(std::uint8_t code) {
    switch (code) {
        case kPowerOff:
            card_->power_off();
            powered_ = false;
            log_.add("power_off");
            break;
        case kPowerOn:
            card_->power_on();
            powered_ = true;
            log_.add("power_on");
            break;
        case kReset:
            card_->reset();
            powered_ = true;
            log_.add("reset");
            break;
        case kGetAtr: {
            // pcscd asks for the ATR every 400 ms to see whether the card is still there;
            // only the first request on a connection and the one that follows a power-on or
            // a reset are worth a log entry. status counts them all.
            ++atr_requests_;
            const bool first = !atr_requested_;
            if (first || last_control_code_ == kPowerOn || last_control_code_ == kReset) {
                log_.add("atr", {{"response", to_hex(card_->atr())}});
            }
            atr_requested_ = true;
            send(card_->atr());
            if (first) {
                release_waiters();
            }
            break;
        }
        default:
            log_.add("ignored", {{"command", to_hex(std::span(&code, 1))}});
            break;
    }
    last_control_code_ = code;
}

void Simulator::handle_apdu(const Bytes& command) {
    ++apdus_;
    last_control_code_.reset();
    if (drop_armed_) {
        drop_card(command);
        return;
    }
    std::string event = "apdu";
    Bytes response = card_answer(command, event);
    const std::optional<unsigned long> delay = take_delay();
    if (!delay) {
        answer_apdu(event, command, response, nlohmann::json::object());
        return;
    }
    answer_timer_ = timers_.add(std::chrono::milliseconds(*delay), [=, this] {
        answer_timer_.reset();
        answer_apdu(event, command, response, {{"delayed_ms", *delay}});
        drain();
    });
}

Bytes Simulator::card_answer(const Bytes& command, std::string& event) {
    if (garbage_left_ > 0) {
        // The card never sees this command: the reader gets a byte no card could send.
        --garbage_left_;
        event = "garbage";
        return {0x6F};
    }
    Bytes response = card_->transmit(command);
    if (response.empty() || response.size() > VpcdLink::kMaxPayload) {
        // An empty answer would make the driver drop the card; a longer one cannot be framed.
        std::fprintf(stderr, "cardsim: the card answered %zu bytes; sending 6F00 instead\n",
                     response.size());
        response = {0x6F, 0x00};
    }
    return response;
}

std::optional<unsigned long> Simulator::take_delay() {
    if (delay_ms_ == 0) {
        return std::nullopt;
    }
    const unsigned long ms = delay_ms_;
    if (delay_left_ && --*delay_left_ == 0) {
        delay_ms_ = 0;
        delay_left_.reset();
    }
    return ms;
}

void Simulator::answer_apdu(const std::string& event, const Bytes& command, const Bytes& response,
                            nlohmann::json extra) {
    extra["command"] = to_hex(command);
    extra["response"] = to_hex(response);
    log_.add(event, std::move(extra));
    send(response);
}

// The card vanishes mid-exchange: the driver's read fails, as when a card is pulled out
// while it computes, and the command is never answered.
void Simulator::drop_card(const Bytes& command) {
    drop_armed_ = false;
    remove_card("drop", {{"command", to_hex(command)}});
    if (reinsert_after_ms_) {
        reinsert_timer_ = timers_.add(std::chrono::milliseconds(*reinsert_after_ms_), [this] {
            reinsert_timer_.reset();
            insert_card();
        });
        reinsert_after_ms_.reset();
    }
}

// --- the card in and out of the reader ------------------------------------------------------

void Simulator::insert_card() {
    if (present_) {
        return;
    }
    present_ = true;
    log_.add("insert");
    reconnect_backoff_ms_ = 0;
    connect_now();
}

void Simulator::remove_card(const std::string& event, nlohmann::json fields) {
    if (reinsert_timer_) {
        timers_.cancel(*reinsert_timer_);
        reinsert_timer_.reset();
    }
    if (reconnect_timer_) {
        timers_.cancel(*reconnect_timer_);
        reconnect_timer_.reset();
    }
    const bool was_present = present_;
    present_ = false;
    forget_connection();
    if (was_present) {
        log_.add(event, std::move(fields));
    }
    release_waiters();
}

// Answers once the driver has asked the new connection for its ATR, the moment pcscd
// starts to see the card, so that `cardctl insert` followed by `cardctl wait present`
// cannot see the state from before the card was swapped.
void Simulator::await_reader(const ControlServer::Reply& reply) {
    if (!present_ || atr_requested_) {
        reply(status());
        return;
    }
    const Timers::Id timer = timers_.add(kReaderWait, [this] { release_waiters(); });
    waiters_.push_back({reply, timer});
}

void Simulator::release_waiters() {
    std::vector<Waiter> waiting = std::move(waiters_);
    waiters_.clear();
    for (const Waiter& waiter : waiting) {
        timers_.cancel(waiter.timer);
        waiter.reply(status());
    }
}

void Simulator::switch_card(LoadedProfile profile, const ControlServer::Reply& reply) {
    remove_card("remove", nlohmann::json::object());
    card_ = std::make_unique<Card>(std::move(profile.profile));
    profile_source_ = std::move(profile.source);
    insert_card();
    await_reader(reply);
}

}  // namespace cardsim
