// The PIV card application (NIST SP 800-73-4 part 2) over ISO/IEC 7816-4 transport rules.
//
// transmit() works in three layers. First the APDU's byte layout and class are judged
// (7816-4 clauses 5.1 and 5.4.1). Then command chaining (CLA bit 0x10, clause 5.1.1.1)
// collects the data of a chain before the command runs once with all of it. Last the
// answer goes out: whole if it fits the expected length, else in pieces that the reader
// fetches with GET RESPONSE after each 61xx. Under T=0 rules (ISO/IEC 7816-3 clause 10.3)
// a command carrying data never answers data directly, only 61xx; a command carrying just
// Le gets 6Cxx when Le is not the answer's exact length, and the reader repeats it.
#include "card.hpp"

#include <algorithm>

#include "apdu.hpp"
#include "objects.hpp"
#include "profile.hpp"
#include "tlv.hpp"

namespace cardsim {

namespace {

// Status words (ISO/IEC 7816-4 clause 5.6, SP 800-73-4 part 2 table 6).
constexpr std::uint16_t kOk = 0x9000;
constexpr std::uint16_t kWrongLength = 0x6700;
constexpr std::uint16_t kChannelNotSupported = 0x6881;
constexpr std::uint16_t kSecureMessagingNotSupported = 0x6882;
constexpr std::uint16_t kSecurityStatus = 0x6982;
constexpr std::uint16_t kBlocked = 0x6983;
constexpr std::uint16_t kConditionsOfUse = 0x6985;
constexpr std::uint16_t kWrongData = 0x6A80;
constexpr std::uint16_t kNotFound = 0x6A82;
constexpr std::uint16_t kWrongP1P2 = 0x6A86;
constexpr std::uint16_t kReferenceNotFound = 0x6A88;
constexpr std::uint16_t kInsNotSupported = 0x6D00;
constexpr std::uint16_t kClaNotSupported = 0x6E00;
constexpr std::uint16_t kNoPreciseDiagnosis = 0x6F00;

constexpr std::size_t kMaxChain = 65536;

struct Reply {
    std::uint16_t sw = kOk;
    Bytes data;
};

Reply sw_only(std::uint16_t sw) {
    return {sw, {}};
}

Bytes with_sw(Bytes data, std::uint16_t sw) {
    data.push_back(static_cast<std::uint8_t>(sw >> 8));
    data.push_back(static_cast<std::uint8_t>(sw));
    return data;
}

// A PIN as VERIFY carries it: the characters, then FF up to 8 bytes. PINs are digits; the
// PUK may be any byte but FF (SP 800-73-4 part 2 clause 2.4.3).
std::optional<std::string> unpad(std::span<const std::uint8_t> field, bool digits_only) {
    if (field.size() != 8) {
        return std::nullopt;
    }
    std::size_t n = 0;
    while (n < 8 && field[n] != 0xFF) {
        if (digits_only && (field[n] < '0' || field[n] > '9')) {
            return std::nullopt;
        }
        ++n;
    }
    if (n < 6 || std::any_of(field.begin() + static_cast<long>(n), field.end(),
                             [](std::uint8_t b) { return b != 0xFF; })) {
        return std::nullopt;
    }
    return std::string(field.begin(), field.begin() + static_cast<long>(n));
}

bool known_container(std::uint32_t tag) {
    return tag == kTagDiscovery || tag == 0x7F61 || (tag >= 0x5FC101 && tag <= 0x5FC123);
}

}  // namespace

// One PIN-like reference: its value and its retry counter.
struct Secret {
    std::string value;
    int tries = 0;
    int max = 0;
};

struct Card::State {
    std::shared_ptr<const Profile> profile;
    Secret pin, global_pin, puk;
    bool selected = false;
    bool verified = false;
    // SP 800-73-4 part 1 clause 3.2.2: the digital signature key (9C) needs the PIN
    // verified right before each use, so a VERIFY sets this and the next command clears it.
    bool verified_just_now = false;
    Bytes pending;
    std::uint16_t pending_sw = kOk;
    bool chaining = false;
    std::uint8_t chain_ins = 0, chain_p1 = 0, chain_p2 = 0;
    Bytes chain_data;

    std::uint16_t retry_status(int tries) const {
        return static_cast<std::uint16_t>((profile->retries_630x ? 0x6300 : 0x63C0) | tries);
    }

    Bytes process(const Command& cmd);
    std::optional<Bytes> run_chain(Command& cmd, Bytes& joined, bool& always);
    Reply dispatch(const Command& cmd, bool always);
    Bytes send(const Command& cmd, Reply reply);
    Bytes send_pieces(Bytes data, std::uint16_t sw, std::size_t ne);
    Bytes get_response(const Command& cmd);

    Reply select(const Command& cmd);
    Reply get_data(const Command& cmd) const;
    Reply verify(const Command& cmd);
    Reply change_reference(const Command& cmd);
    Reply reset_retry_counter(const Command& cmd);
    Reply general_authenticate(const Command& cmd, bool always);
    Reply challenge(const Command& cmd) const;
    Reply check(Secret& secret, const std::string& offered);
    Secret* reference(std::uint8_t p2, bool allow_puk);
};

Bytes Card::State::process(const Command& cmd) {
    if (cmd.extended && !profile->extended_length) {
        return with_sw({}, kWrongLength);
    }
    if (cmd.cla == 0xFF || (cmd.cla & 0xC0) != 0) {
        return with_sw({}, kClaNotSupported);
    }
    if ((cmd.cla & 0x03) != 0) {
        return with_sw({}, kChannelNotSupported);
    }
    if ((cmd.cla & 0x0C) != 0) {
        return with_sw({}, kSecureMessagingNotSupported);
    }
    // 7816-3 clause 10.3.2: INS 6X and 9X are not instructions; a T=0 reader could not send them.
    if ((cmd.ins & 0xF0) == 0x60 || (cmd.ins & 0xF0) == 0x90) {
        return with_sw({}, kInsNotSupported);
    }
    if (cmd.ins == 0xC0) {
        return get_response(cmd);
    }
    pending.clear();
    bool always = verified_just_now;
    verified_just_now = false;
    Command whole = cmd;
    Bytes joined;
    if (auto reply = run_chain(whole, joined, always)) {
        return *reply;
    }
    return send(whole, dispatch(whole, always));
}

// Collects a chain's data. Returns the answer to a link of the chain, or nullopt when
// `cmd` (with the chain's data put before its own) is to run now.
std::optional<Bytes> Card::State::run_chain(Command& cmd, Bytes& joined, bool& always) {
    bool continues = chaining && cmd.ins == chain_ins && cmd.p1 == chain_p1 && cmd.p2 == chain_p2;
    if (!continues) {
        chaining = false;
        chain_data.clear();
    }
    if ((cmd.cla & 0x10) != 0) {
        if (chain_data.size() + cmd.data.size() > kMaxChain) {
            chaining = false;
            chain_data.clear();
            return with_sw({}, kWrongLength);
        }
        chaining = true;
        chain_ins = cmd.ins, chain_p1 = cmd.p1, chain_p2 = cmd.p2;
        chain_data.insert(chain_data.end(), cmd.data.begin(), cmd.data.end());
        verified_just_now = always;  // the links of one command are still that command
        return with_sw({}, kOk);
    }
    if (continues) {
        joined = std::move(chain_data);
        joined.insert(joined.end(), cmd.data.begin(), cmd.data.end());
        cmd.data = joined;
        chaining = false;
        chain_data.clear();
    }
    return std::nullopt;
}

Reply Card::State::dispatch(const Command& cmd, bool always) {
    if (cmd.ins == 0xA4) {
        return select(cmd);
    }
    if (!selected) {
        return sw_only(kInsNotSupported);  // the card's default application knows no PIV
    }
    switch (cmd.ins) {
        case 0xCB:
            return get_data(cmd);
        case 0x20:
            return verify(cmd);
        case 0x24:
            return change_reference(cmd);
        case 0x2C:
            return reset_retry_counter(cmd);
        case 0x87:
            return general_authenticate(cmd, always);
        case 0xDB:  // PUT DATA and GENERATE ASYMMETRIC KEY PAIR need the management key,
        case 0x47:  // which this card never authenticates
            return sw_only(kSecurityStatus);
        default:
            return sw_only(kInsNotSupported);
    }
}

Bytes Card::State::send(const Command& cmd, Reply reply) {
    if (reply.data.empty()) {
        return with_sw({}, reply.sw);
    }
    std::size_t len = reply.data.size();
    if (!profile->t0) {
        std::size_t ne = cmd.le_present ? cmd.ne : (cmd.extended ? 65536 : 256);
        return send_pieces(std::move(reply.data), reply.sw, ne);
    }
    if (!cmd.data.empty() || !cmd.le_present) {
        // T=0 case 3 and 4: the data waits for GET RESPONSE.
        pending = std::move(reply.data);
        pending_sw = reply.sw;
        return with_sw(
            {}, static_cast<std::uint16_t>(0x6100 | (std::min<std::size_t>(len, 256) & 0xFF)));
    }
    if (cmd.ne == len || (cmd.ne == 256 && len > 256) || (cmd.ne < len && len > 256)) {
        return send_pieces(std::move(reply.data), reply.sw, cmd.ne);
    }
    return with_sw({}, static_cast<std::uint16_t>(0x6C00 | (len & 0xFF)));
}

// Sends up to `ne` bytes; the rest waits for GET RESPONSE, announced by 61xx (xx the bytes
// still available, 00 for 256 or more).
Bytes Card::State::send_pieces(Bytes data, std::uint16_t sw, std::size_t ne) {
    if (data.size() <= ne) {
        return with_sw(std::move(data), sw);
    }
    pending.assign(data.begin() + static_cast<long>(ne), data.end());
    pending_sw = sw;
    data.resize(ne);
    return with_sw(
        std::move(data),
        static_cast<std::uint16_t>(0x6100 | (std::min<std::size_t>(pending.size(), 256) & 0xFF)));
}

Bytes Card::State::get_response(const Command& cmd) {
    chaining = false;
    chain_data.clear();
    if (cmd.p1 != 0 || cmd.p2 != 0) {
        return with_sw({}, kWrongP1P2);
    }
    if (!cmd.data.empty()) {
        return with_sw({}, kWrongLength);
    }
    if (pending.empty()) {
        return with_sw({}, kConditionsOfUse);
    }
    std::size_t ne = cmd.le_present ? cmd.ne : 256;
    if (profile->t0 && ne > pending.size()) {
        return with_sw({}, static_cast<std::uint16_t>(0x6C00 | (pending.size() & 0xFF)));
    }
    Bytes data = std::move(pending);
    pending.clear();
    bool always = verified_just_now;  // fetching an answer is not another command
    Bytes out = send_pieces(std::move(data), pending_sw, ne);
    verified_just_now = always;
    return out;
}

Reply Card::State::select(const Command& cmd) {
    // P2 00 asks for the template, 0C for no answer data (ISO/IEC 7816-4 table 40).
    if (cmd.p1 != 0x04 || (cmd.p2 != 0x00 && cmd.p2 != 0x0C)) {
        return sw_only(kWrongP1P2);
    }
    // The AID may come truncated (ISO/IEC 7816-4 clause 11.2.2: right-truncated AIDs select
    // the application whose AID begins so); OpenSC sends 9 bytes, ykpiv the bare RID.
    bool ours = profile->piv_application && cmd.data.size() >= 5 &&
                cmd.data.size() <= kPivAid.size() &&
                std::equal(cmd.data.begin(), cmd.data.end(), kPivAid.begin());
    if (!ours) {
        return sw_only(kNotFound);  // the current application stays selected
    }
    selected = true;
    if (cmd.p2 == 0x0C) {
        return sw_only(kOk);
    }
    Bytes algorithms;
    for (const SlotKey& s : profile->slots) {
        algorithms.push_back(algorithm_id(s.algorithm));
    }
    std::sort(algorithms.begin(), algorithms.end());
    algorithms.erase(std::unique(algorithms.begin(), algorithms.end()), algorithms.end());
    return {kOk, make_application_template(algorithms)};
}

Reply Card::State::get_data(const Command& cmd) const {
    if (cmd.p1 != 0x3F || cmd.p2 != 0xFF) {
        return sw_only(kWrongP1P2);
    }
    auto list = read_tlv(cmd.data);
    if (!list || list->tag != 0x5C || list->size != cmd.data.size() || list->value.empty() ||
        list->value.size() > 3) {
        return sw_only(kWrongData);
    }
    std::uint32_t tag = 0;
    for (std::uint8_t b : list->value) {
        tag = (tag << 8) | b;
    }
    if (!known_container(tag)) {
        return sw_only(kWrongData);
    }
    auto it = profile->objects.find(tag);
    if (it == profile->objects.end()) {
        return sw_only(kNotFound);
    }
    if (tag == kTagPrintedInformation && !verified) {
        return sw_only(kSecurityStatus);
    }
    return {kOk, tag == kTagDiscovery ? it->second : tlv(0x53, it->second)};
}

Secret* Card::State::reference(std::uint8_t p2, bool allow_puk) {
    if (p2 == 0x80) {
        return &pin;
    }
    if (p2 == 0x00 && profile->global_pin) {
        return &global_pin;
    }
    if (p2 == 0x81 && allow_puk) {
        return &puk;
    }
    return nullptr;
}

// Compares an offered value; counts a failure down and blocks at zero.
Reply Card::State::check(Secret& secret, const std::string& offered) {
    if (secret.tries == 0) {
        return sw_only(kBlocked);
    }
    if (offered == secret.value) {
        secret.tries = secret.max;
        return sw_only(kOk);
    }
    --secret.tries;
    return sw_only(secret.tries == 0 ? kBlocked : retry_status(secret.tries));
}

Reply Card::State::verify(const Command& cmd) {
    if (cmd.p1 != 0x00 && cmd.p1 != 0xFF) {
        return sw_only(kWrongP1P2);
    }
    Secret* secret = reference(cmd.p2, false);
    if (secret == nullptr) {
        return sw_only(kReferenceNotFound);
    }
    if (cmd.p1 == 0xFF) {
        if (!cmd.data.empty()) {
            return sw_only(kWrongLength);
        }
        verified = false;
        return sw_only(kOk);
    }
    if (cmd.data.empty()) {
        if (secret->tries == 0) {
            return sw_only(kBlocked);
        }
        bool show_count = !verified || profile->verified_status_count;
        return sw_only(show_count ? retry_status(secret->tries) : kOk);
    }
    auto offered = unpad(cmd.data, true);
    if (!offered) {
        return sw_only(kWrongData);
    }
    Reply r = check(*secret, *offered);
    verified = r.sw == kOk;
    verified_just_now = verified;
    return r;
}

Reply Card::State::change_reference(const Command& cmd) {
    if (cmd.p1 != 0x00) {
        return sw_only(kWrongP1P2);
    }
    Secret* secret = reference(cmd.p2, true);
    if (secret == nullptr) {
        return sw_only(kReferenceNotFound);
    }
    bool digits = secret != &puk;
    auto old_value = unpad(cmd.data.first(std::min<std::size_t>(8, cmd.data.size())), digits);
    auto new_value = cmd.data.size() == 16 ? unpad(cmd.data.subspan(8), digits) : std::nullopt;
    if (!old_value || !new_value) {
        return sw_only(kWrongData);
    }
    Reply r = check(*secret, *old_value);
    if (r.sw == kOk) {
        secret->value = *new_value;
    } else if (secret != &puk) {
        verified = false;
    }
    return r;
}

Reply Card::State::reset_retry_counter(const Command& cmd) {
    if (cmd.p1 != 0x00) {
        return sw_only(kWrongP1P2);
    }
    if (cmd.p2 != 0x80) {
        return sw_only(kReferenceNotFound);
    }
    auto offered = unpad(cmd.data.first(std::min<std::size_t>(8, cmd.data.size())), false);
    auto new_pin = cmd.data.size() == 16 ? unpad(cmd.data.subspan(8), true) : std::nullopt;
    if (!offered || !new_pin) {
        return sw_only(kWrongData);
    }
    Reply r = check(puk, *offered);
    if (r.sw == kOk) {
        pin.value = *new_pin;
        pin.tries = pin.max;
        verified = false;
    }
    return r;
}

// A challenge from the card management key's reference (9B): the first step of mutual
// authentication, which OpenSC also uses as the card's random number generator.
Reply Card::State::challenge(const Command& cmd) const {
    static const Bytes request = {0x7C, 0x02, 0x81, 0x00};
    bool aes = cmd.p1 == 0x08 || cmd.p1 == 0x0A || cmd.p1 == 0x0C;
    if (cmd.p1 != 0x00 && cmd.p1 != 0x03 && !aes) {
        return sw_only(kWrongData);
    }
    if (!std::equal(cmd.data.begin(), cmd.data.end(), request.begin(), request.end())) {
        return sw_only(kWrongData);  // the rest of mutual authentication is not offered
    }
    return {kOk, tlv(0x7C, tlv(0x81, random_bytes(aes ? 16 : 8)))};
}

Reply Card::State::general_authenticate(const Command& cmd, bool always) {
    if (cmd.p2 == 0x9B) {
        return challenge(cmd);
    }
    const SlotKey* slot = profile->slot(cmd.p2);
    if (slot == nullptr || !slot->key_on_card) {
        return sw_only(kReferenceNotFound);
    }
    if (cmd.p1 != algorithm_id(slot->algorithm)) {
        return sw_only(kWrongData);
    }
    bool allowed = slot->ref == 0x9E || (slot->ref == 0x9C ? always : verified);
    if (!allowed) {
        return sw_only(kSecurityStatus);
    }
    auto outer = read_tlv(cmd.data);
    auto inner = outer ? read_all_tlv(outer->value) : std::nullopt;
    if (!outer || outer->tag != 0x7C || outer->size != cmd.data.size() || !inner) {
        return sw_only(kWrongData);
    }
    bool response_asked = false;
    const Tlv* input = nullptr;
    for (const Tlv& t : *inner) {
        if (t.tag == 0x82 && t.value.empty()) {
            response_asked = true;
        } else if ((t.tag == 0x81 || t.tag == 0x85) && input == nullptr) {
            input = &t;
        } else {
            return sw_only(kWrongData);
        }
    }
    if (!response_asked || input == nullptr) {
        return sw_only(kWrongData);
    }
    bool rsa = slot->algorithm == Algorithm::rsa2048;
    std::optional<Bytes> result;
    if (input->tag == 0x81) {
        result = rsa ? rsa_raw(slot->key.get(), input->value)
                     : ecdsa_sign(slot->key.get(), input->value);
    } else if (!rsa) {
        result = ecdh(slot->key.get(), input->value);
    }
    if (!result) {
        return sw_only(kWrongData);
    }
    return {kOk, tlv(0x7C, tlv(0x82, *result))};
}

Card::Card(std::shared_ptr<const Profile> profile) : state_(std::make_unique<State>()) {
    const Profile& p = *profile;
    state_->pin = {p.pin, p.pin_retries, p.pin_retries};
    state_->global_pin = {p.global_pin_value, p.pin_retries, p.pin_retries};
    state_->puk = {p.puk, p.puk_retries, p.puk_retries};
    state_->profile = std::move(profile);
}

Card::~Card() = default;
Card::Card(Card&&) noexcept = default;
Card& Card::operator=(Card&&) noexcept = default;

const Bytes& Card::atr() const {
    return state_->profile->atr;
}

void Card::power_on() {
    reset();
}

void Card::power_off() {
    reset();
}

void Card::reset() {
    State& s = *state_;
    s.selected = false;
    s.verified = false;
    s.verified_just_now = false;
    s.pending.clear();
    s.chaining = false;
    s.chain_data.clear();
}

Bytes Card::transmit(std::span<const std::uint8_t> command) {
    try {
        auto cmd = parse_command(command);
        if (!cmd) {
            state_->pending.clear();
            state_->chaining = false;
            state_->chain_data.clear();
            state_->verified_just_now = false;
            return with_sw({}, kWrongLength);
        }
        return state_->process(*cmd);
    } catch (...) {
        return with_sw({}, kNoPreciseDiagnosis);  // a card's answer to its own failure
    }
}

CardStatus Card::status() const {
    return {state_->pin.tries, state_->puk.tries, state_->verified, state_->selected};
}

}  // namespace cardsim
