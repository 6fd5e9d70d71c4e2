#include "core/apdu/exchange.hpp"

#include <algorithm>
#include <utility>

namespace cac {
namespace {

using Clock = std::chrono::steady_clock;

// SCARD_E_COMM_DATA_LOST: the reader delivered an answer too short to hold a status word,
// which is how a card vanishing mid-exchange shows through some drivers.
constexpr std::uint32_t kCommDataLost = 0x8010002F;

constexpr std::uint8_t kGetResponse = 0xC0;
constexpr std::uint8_t kChainBit = 0x10;
constexpr std::size_t kMaxShortApduSize = 261;

// GET RESPONSE belongs to the interindustry class: it keeps the command's logical channel
// (and secure messaging bits) but never the chaining bit; a proprietary class (bit 8 set,
// as CAC's 80) gets the interindustry 00 on the same basic channel.
std::uint8_t get_response_cla(std::uint8_t cla) {
    if (cla & 0x80)
        return std::uint8_t(cla & 0x03);
    return std::uint8_t(cla & ~kChainBit);
}

ApduCommand get_response(std::uint8_t cla, std::uint8_t sw2) {
    return ApduCommand{cla, kGetResponse, 0x00, 0x00, {}, sw2 == 0 ? 256u : sw2, false};
}

bool is_error(StatusWord sw) {
    SwClass cls = meaning(sw, SwDialect::iso).cls;
    return cls == SwClass::execution_error || cls == SwClass::checking_error;
}

std::size_t encoded_size(const ApduCommand& cmd) {
    std::size_t size = 4 + cmd.data.size();
    if (!cmd.data.empty())
        size += cmd.extended ? 3 : 1;
    if (cmd.ne)
        size += cmd.extended ? (cmd.data.empty() ? 3 : 2) : 1;
    return size;
}

// What a Transmission keeps of `wire`, the encoding of `cmd`: all of it, or for a command
// that carries a PIN the header and Lc only (one byte in the short form, three in the
// extended one).
Bytes kept_copy(const ApduCommand& cmd, const Bytes& wire) {
    if (!carries_secret(cmd.ins) || cmd.data.empty())
        return wire;
    std::size_t header_and_lc = std::min(wire.size(), std::size_t(4 + (cmd.extended ? 3 : 1)));
    return Bytes(wire.begin(), wire.begin() + long(header_and_lc));
}

// Wipes a buffer when it goes out of scope, if `when`.
class WipedBytes {
  public:
    WipedBytes(Bytes& bytes, bool when) : bytes_(bytes), when_(when) {}
    ~WipedBytes() {
        if (when_)
            wipe(bytes_.data(), bytes_.size());
    }
    WipedBytes(const WipedBytes&) = delete;
    WipedBytes& operator=(const WipedBytes&) = delete;

  private:
    Bytes& bytes_;
    bool when_;
};

struct LimitReached {
    std::string what;
};

}  // namespace

std::string_view to_string(TransmitPurpose purpose) {
    switch (purpose) {
        case TransmitPurpose::command:
            return "command";
        case TransmitPurpose::chain_link:
            return "chain_link";
        case TransmitPurpose::get_response:
            return "get_response";
        case TransmitPurpose::resend:
            return "resend";
        case TransmitPurpose::drain:
            return "drain";
    }
    return "command";
}

// One exchange: the state that lives while a command and its follow-ups are on the wire.
class ApduExchanger::Run {
  public:
    Run(ApduExchanger& owner, ExchangeResult& result) : owner_(owner), result_(result) {}

    void drain(const ApduCommand& next);
    void execute(const ApduCommand& command);
    void stop_at_limit(const LimitReached& limit);

  private:
    ApduResponse send(const ApduCommand& cmd, TransmitPurpose purpose);
    std::optional<ApduResponse> send_chained(ApduCommand& current);
    void follow(ApduCommand current, ApduResponse response);
    void finish(StatusWord sw, bool after_pieces);
    bool append(const Bytes& data);

    ApduExchanger& owner_;
    ExchangeResult& result_;
    Bytes joined_;
    StatusWord last_sw_;
    std::uint8_t last_cla_ = 0;  // the class a GET RESPONSE after the last answer takes
};

ApduResponse ApduExchanger::Run::send(const ApduCommand& cmd, TransmitPurpose purpose) {
    const ExchangeOptions& options = owner_.options_;
    if (result_.transmissions.size() >= options.max_transmits)
        throw LimitReached{"more than " + std::to_string(options.max_transmits) + " transmits"};
    Transmission t;
    t.purpose = purpose;
    Bytes wire = cmd.encode();
    WipedBytes wiped(wire, carries_secret(cmd.ins));
    t.command = kept_copy(cmd, wire);
    t.sent = wire.size();
    auto start = Clock::now();
    t.response = owner_.channel_.transmit(wire);
    t.duration = Clock::now() - start;
    result_.stats.bytes_sent += t.sent;
    result_.stats.bytes_received += t.response.size();
    result_.stats.transmits += 1;
    const Transmission& kept = result_.transmissions.emplace_back(std::move(t));
    if (kept.response.size() < 2) {
        throw Error(ErrorDomain::pcsc, kCommDataLost, "transmit the APDU",
                    "the answer has " + std::to_string(kept.response.size()) +
                        " byte(s), without a status word");
    }
    ApduResponse response = ApduResponse::decode(kept.response);
    last_sw_ = response.sw;
    last_cla_ = get_response_cla(cmd.cla);
    return response;
}

void ApduExchanger::Run::drain(const ApduCommand& next) {
    if (!owner_.pending_)
        return;
    Pending pending = *owner_.pending_;
    owner_.pending_.reset();
    if (next.ins == kGetResponse)
        return;  // the caller fetches the data itself
    std::size_t drained = 0;
    for (;;) {
        ApduResponse r = send(get_response(pending.cla, pending.sw2), TransmitPurpose::drain);
        drained += r.data.size();
        if (r.sw.sw1 != 0x61 || drained > owner_.options_.max_response_bytes)
            return;
        pending.sw2 = r.sw.sw2;
    }
}

void ApduExchanger::Run::execute(const ApduCommand& command) {
    const ExchangeOptions& options = owner_.options_;
    ApduCommand current = command;
    WipedData wiped(current, carries_secret(current.ins));
    // A reader whose limit is the longest short APDU (4 + 1 + 255 + 1) carries none of the
    // extended ones, whatever their size.
    bool short_only = options.max_apdu_size <= kMaxShortApduSize;
    bool too_long =
        encoded_size(command) > options.max_apdu_size || (command.extended && short_only);
    if (command.data.size() > kMaxShortData && (options.chain || too_long)) {
        std::optional<ApduResponse> last = send_chained(current);
        if (last)
            follow(current, *last);
        return;
    }
    if (too_long && command.extended) {
        // The reader carries short APDUs only: ask for at most 256 bytes, and let 61xx
        // bring the rest.
        current.extended = false;
        if (current.ne)
            current.ne = std::min(*current.ne, kMaxShortNe);
    }
    follow(current, send(current, TransmitPurpose::command));
}

// Sends every link but the last; returns the last link's answer, or nullopt when a link
// was refused (the result then says so). `current` becomes the last link.
std::optional<ApduResponse> ApduExchanger::Run::send_chained(ApduCommand& current) {
    ApduCommand whole = current;
    WipedData wiped_whole(whole, carries_secret(whole.ins));
    std::span<const std::uint8_t> rest(whole.data);
    while (rest.size() > kMaxShortData) {
        ApduCommand link{std::uint8_t(whole.cla | kChainBit),
                         whole.ins,
                         whole.p1,
                         whole.p2,
                         Bytes(rest.begin(), rest.begin() + kMaxShortData),
                         std::nullopt,
                         false};
        WipedData wiped_link(link, carries_secret(link.ins));
        rest = rest.subspan(kMaxShortData);
        ApduResponse r = send(link, TransmitPurpose::chain_link);
        if (r.sw.value() != 0x9000) {
            result_.interrupted = true;
            result_.note = "the card answered " + r.sw.hex() + " to a link of the chain, with " +
                           std::to_string(rest.size()) + " data bytes not sent";
            result_.response = r;
            return std::nullopt;
        }
    }
    current.data.assign(rest.begin(), rest.end());
    current.extended = false;
    if (current.ne)
        current.ne = std::min(*current.ne, kMaxShortNe);
    return send(current, TransmitPurpose::command);
}

bool ApduExchanger::Run::append(const Bytes& data) {
    joined_.insert(joined_.end(), data.begin(), data.end());
    return joined_.size() <= owner_.options_.max_response_bytes;
}

void ApduExchanger::Run::follow(ApduCommand current, ApduResponse r) {
    const ExchangeOptions& options = owner_.options_;
    // The command's data is wiped before `current` becomes a GET RESPONSE, and at the end.
    WipedData wiped(current, carries_secret(current.ins));
    bool resent = false;
    bool pieces = false;
    for (;;) {
        // A command that carries a PIN is never sent twice: the card may count each one
        // as a try. A 6Cxx to it (a wrong answer to a command with no response data) is
        // its answer.
        if (r.sw.sw1 == 0x6C && options.resend_on_6c && !resent && !carries_secret(current.ins)) {
            resent = true;
            current.ne = r.sw.sw2 == 0 ? 256u : r.sw.sw2;
            r = send(current, TransmitPurpose::resend);
            continue;
        }
        if (r.sw.sw1 != 0x61 || !options.get_response)
            break;
        if (!append(r.data)) {
            owner_.pending_ = Pending{get_response_cla(current.cla), r.sw.sw2};
            throw LimitReached{"the answer exceeds " + std::to_string(options.max_response_bytes) +
                               " bytes"};
        }
        if (carries_secret(current.ins))
            wipe(current.data.data(), current.data.size());
        current = get_response(get_response_cla(current.cla), r.sw.sw2);
        resent = false;
        pieces = true;
        r = send(current, TransmitPurpose::get_response);
    }
    if (r.sw.sw1 == 0x61)
        owner_.pending_ = Pending{get_response_cla(current.cla), r.sw.sw2};
    joined_.insert(joined_.end(), r.data.begin(), r.data.end());
    finish(r.sw, pieces);
}

void ApduExchanger::Run::finish(StatusWord sw, bool after_pieces) {
    result_.response = ApduResponse{std::move(joined_), sw};
    if (after_pieces && is_error(sw)) {
        result_.interrupted = true;
        result_.note = "GET RESPONSE answered " + sw.hex() + " after " +
                       std::to_string(result_.response.data.size()) + " bytes";
    }
}

void ApduExchanger::Run::stop_at_limit(const LimitReached& limit) {
    if (!owner_.pending_ && last_sw_.sw1 == 0x61)
        owner_.pending_ = Pending{last_cla_, last_sw_.sw2};
    result_.interrupted = true;
    result_.note = "stopped: " + limit.what;
    result_.response = ApduResponse{std::move(joined_), last_sw_};
}

ApduExchanger::ApduExchanger(CardChannel& channel, ExchangeOptions options)
    : channel_(channel), options_(options) {}

ExchangeResult ApduExchanger::exchange(const ApduCommand& command) {
    command.validate();
    ExchangeResult result;
    auto start = Clock::now();
    Run run(*this, result);
    try {
        run.drain(command);
        run.execute(command);
    } catch (const LimitReached& limit) {
        run.stop_at_limit(limit);
    } catch (const Error& e) {
        result.failure = e;
    }
    result.stats.duration = Clock::now() - start;
    return result;
}

}  // namespace cac
