// The Answer to Reset: what a card says about itself when it is powered up.
//
// ISO/IEC 7816-3:2006 clause 8 lays an ATR out as TS, T0, chains of interface bytes
// (TAi, TBi, TCi, TDi: each TDi says which of the next group follow and which protocol
// they are about), K historical bytes, and a check byte TCK. PC/SC hands over the bytes
// already decoded, so TS only tells which convention the card used on the wire.
//
// Cards and readers get this wrong often enough that only what makes the rest unreadable
// is an error: fewer than two bytes, more than 33, an unknown TS, or interface bytes cut
// off. A missing or wrong TCK, fewer historical bytes than T0 promises, bytes after the
// end and malformed compact-TLV are warnings, and parsing goes on with what is there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/hex.hpp"

namespace cac {

// The longest ATR: TS plus at most 32 characters (ISO/IEC 7816-3 clause 8.2.1).
inline constexpr std::size_t max_atr_bytes = 33;

enum class Convention { direct, inverse };

// "direct", "inverse".
std::string_view to_string(Convention convention);

// One group of interface bytes TAi, TBi, TCi, TDi (clause 8.2.3).
struct AtrInterfaceGroup {
    int index = 1;  // i, from 1
    // T of TD(i-1): the protocol TAi..TCi are about for i > 2 (T=15: global bytes).
    // Empty for the first group, whose bytes are global.
    std::optional<int> protocol;
    std::optional<std::uint8_t> ta, tb, tc, td;

    // From TDi: the protocol T it indicates, and Y(i+1), which of TA(i+1)..TD(i+1) follow.
    std::optional<int> td_protocol() const {
        return td ? std::optional<int>(*td & 0x0f) : std::nullopt;
    }
    std::optional<int> next_y() const { return td ? std::optional<int>(*td >> 4) : std::nullopt; }
};

// TA1: clock rate conversion factor Fi and baud rate adjustment factor Di (clause 8.3,
// tables 7 and 8). Without TA1 the defaults Fi = 372, f(max) = 5 MHz, Di = 1 apply.
struct AtrRates {
    bool from_ta1 = false;
    int fi_code = 1;       // high nibble of TA1
    int di_code = 1;       // low nibble of TA1
    int fi = 372;          // 0 for a reserved code
    int f_max_khz = 5000;  // 0 for a reserved code
    int di = 1;            // 0 for a reserved code
};

// TA2 present: the card works in specific mode (clause 6.3.1, 8.3).
struct AtrSpecificMode {
    int protocol = 0;                  // low nibble of TA2
    bool can_change = false;           // b8 = 0: the card can switch to negotiable mode
    bool implicit_parameters = false;  // b5 = 1: Fi and Di are not those of TA1
};

// The T=1 parameters of the first TA, TB, TC after a TD indicating T=1 (clause 11.4).
// Empty fields mean the defaults: IFSC 32, BWI 4, CWI 13, LRC.
struct AtrT1Parameters {
    std::optional<int> ifsc;
    std::optional<int> bwi;
    std::optional<int> cwi;
    std::optional<bool> crc;  // true: CRC, false: LRC
};

// One compact-TLV data object of the historical bytes (ISO/IEC 7816-4:2013 12.1.1):
// a byte with the tag in the high nibble and the length in the low one, then the value.
struct CompactTlv {
    int tag = 0;
    std::size_t offset = 0;  // of the tag byte within the historical bytes
    Bytes value;
};

// Tag 7, third software function table: what the APDU layer may do with the card.
struct CardCapabilities {
    Bytes raw;
    std::optional<bool> command_chaining;
    std::optional<bool> extended_length;
    std::optional<int> logical_channels;  // 8 means "eight or more"
};

// Tag 8, or the last three bytes after category indicator 00: life cycle status and
// a status word.
struct StatusIndicator {
    std::optional<std::uint8_t> life_cycle;
    std::optional<std::uint16_t> sw;
};

struct HistoricalBytes {
    Bytes raw;  // as many as are present, which may be fewer than K
    // 00 and 80: compact-TLV objects (with 00 the status indicator is the last three
    // bytes); 10: one DIR data reference byte; anything else: proprietary.
    std::optional<std::uint8_t> category;
    std::vector<CompactTlv> objects;
    std::optional<std::uint8_t> dir_data_reference;
    std::optional<std::uint8_t> card_service_data;  // tag 3
    std::optional<Bytes> pre_issuing_data;          // tag 6
    std::optional<CardCapabilities> capabilities;   // tag 7
    std::optional<StatusIndicator> status;          // tag 8 or category 00
};

struct Atr {
    Bytes raw;  // every byte given, trailing ones included
    Convention convention = Convention::direct;
    std::uint8_t t0 = 0;
    int y1 = 0;  // high nibble of T0: which of TA1..TD1 follow
    int k = 0;   // low nibble of T0: the number of historical bytes
    std::vector<AtrInterfaceGroup> groups;

    // Protocols offered: the T of each TDi in order, without repeats; T=0 alone when
    // there is no TD1. T=15 is not a protocol: it marks global bytes (`has_t15`).
    std::vector<int> protocols;
    bool has_t15 = false;

    AtrRates rates;
    std::optional<AtrSpecificMode> specific_mode;  // TA2
    std::optional<int> extra_guard_time;           // TC1, N in etu (255: minimum)
    std::optional<int> t0_waiting_integer;         // TC2 (WI; 10 when absent)
    std::optional<AtrT1Parameters> t1;             // when T=1 is offered

    HistoricalBytes historical;

    // TCK must be present unless T=0 is the only protocol indicated (clause 8.2.5).
    bool tck_required = false;
    std::optional<std::uint8_t> tck;
    std::optional<bool> tck_valid;  // XOR of T0..TCK is 0; empty without TCK
    Bytes trailing;                 // bytes beyond what T0, the TDi and K account for

    std::vector<std::string> warnings;
};

// Throws Error(CoreCode::parse_error) naming the offset of the problem when `bytes`
// cannot be read as an ATR at all; everything else ends up in `warnings`.
[[nodiscard]] Atr parse_atr(std::span<const std::uint8_t> bytes);

// Decodes historical bytes (from an ATR or EF.ATR/INFO). Never fails: an object that
// runs past its region, or a category whose layout does not fit, is a warning that
// names the historical byte it starts at, and decoding stops there.
[[nodiscard]] HistoricalBytes parse_historical_bytes(std::span<const std::uint8_t> bytes,
                                                     std::vector<std::string>& warnings);

}  // namespace cac
