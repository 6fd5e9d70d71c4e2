#include "core/card/atr.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "core/util/error.hpp"

namespace cac {
namespace {

// ISO/IEC 7816-3:2006 table 7 (Fi and f(max) by the high nibble of TA1) and table 8
// (Di by the low nibble); 0 marks a reserved value.
constexpr std::array<int, 16> fi_table{372, 372, 558, 744,  1116, 1488, 1860, 0,
                                       0,   512, 768, 1024, 1536, 2048, 0,    0};
constexpr std::array<int, 16> f_max_khz_table{4000, 5000, 6000, 8000,  12000, 16000, 20000, 0,
                                              0,    5000, 7500, 10000, 15000, 20000, 0,     0};
constexpr std::array<int, 16> di_table{0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0};

constexpr char interface_letters[] = "ABCD";

std::string hex_byte(std::uint8_t value) {
    return to_hex(std::span<const std::uint8_t>(&value, 1));
}

[[noreturn]] void fail(std::size_t offset, const std::string& reason) {
    throw Error(CoreCode::parse_error, "parse ATR",
                "byte " + std::to_string(offset) + ": " + reason);
}

void check_size(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < 2) {
        fail(bytes.size(), "the ATR ends before T0 (" + std::to_string(bytes.size()) +
                               " bytes; TS and T0 are required)");
    }
    if (bytes.size() > max_atr_bytes) {
        fail(max_atr_bytes, std::to_string(bytes.size()) + " bytes, more than the " +
                                std::to_string(max_atr_bytes) + " an ATR can have");
    }
}

Convention convention_of(std::uint8_t ts) {
    if (ts == 0x3b)
        return Convention::direct;
    if (ts == 0x3f)
        return Convention::inverse;
    fail(0, "TS is " + hex_byte(ts) + ", neither 3b (direct) nor 3f (inverse convention)");
}

// Reads the chain of interface byte groups that T0 and each TDi announce; returns the
// offset of the first historical byte. Every TDi consumes a byte, so the chain ends
// within the (at most 33) bytes given.
std::size_t read_groups(std::span<const std::uint8_t> bytes, Atr& atr) {
    std::size_t pos = 2;
    int presence = atr.y1;
    AtrInterfaceGroup group;
    while (true) {
        std::array<std::optional<std::uint8_t>*, 4> slots{&group.ta, &group.tb, &group.tc,
                                                          &group.td};
        for (int bit = 0; bit < 4; ++bit) {
            if (!(presence & (1 << bit)))
                continue;
            if (pos >= bytes.size()) {
                fail(pos, std::string("the ATR ends where T") + interface_letters[bit] +
                              std::to_string(group.index) + " is announced");
            }
            *slots[bit] = bytes[pos++];
        }
        if (presence != 0)
            atr.groups.push_back(group);
        if (!group.td)
            return pos;
        presence = *group.next_y();
        group = AtrInterfaceGroup{group.index + 1, group.td_protocol(), {}, {}, {}, {}};
    }
}

// T=0 alone when no TD1; otherwise each TDi's T. TCK is required as soon as any TDi
// names something other than T=0 (ISO/IEC 7816-3 clause 8.2.5), T=15 included.
void read_protocols(Atr& atr) {
    for (const AtrInterfaceGroup& group : atr.groups) {
        if (!group.td)
            continue;
        int t = *group.td_protocol();
        if (t != 0)
            atr.tck_required = true;
        if (t == 15) {
            atr.has_t15 = true;
        } else if (std::find(atr.protocols.begin(), atr.protocols.end(), t) ==
                   atr.protocols.end()) {
            atr.protocols.push_back(t);
        }
    }
    if (atr.protocols.empty() && !atr.has_t15)
        atr.protocols.push_back(0);
}

const AtrInterfaceGroup* group_at(const Atr& atr, int index) {
    for (const AtrInterfaceGroup& group : atr.groups) {
        if (group.index == index)
            return &group;
    }
    return nullptr;
}

void read_rates(std::uint8_t ta1, Atr& atr) {
    AtrRates& rates = atr.rates;
    rates.from_ta1 = true;
    rates.fi_code = ta1 >> 4;
    rates.di_code = ta1 & 0x0f;
    rates.fi = fi_table[rates.fi_code];
    rates.f_max_khz = f_max_khz_table[rates.fi_code];
    rates.di = di_table[rates.di_code];
    if (rates.fi == 0 || rates.di == 0)
        atr.warnings.push_back("TA1 " + hex_byte(ta1) + " uses a reserved Fi or Di value");
}

// TA1, TC1, TA2 and TC2 are the global (and T=0) parameters of the first two groups.
void read_global_parameters(Atr& atr) {
    if (const AtrInterfaceGroup* first = group_at(atr, 1)) {
        if (first->ta)
            read_rates(*first->ta, atr);
        if (first->tc)
            atr.extra_guard_time = *first->tc;
    }
    if (const AtrInterfaceGroup* second = group_at(atr, 2)) {
        if (second->ta) {
            std::uint8_t ta2 = *second->ta;
            atr.specific_mode = AtrSpecificMode{ta2 & 0x0f, (ta2 & 0x80) == 0, (ta2 & 0x10) != 0};
        }
        if (second->tc)
            atr.t0_waiting_integer = *second->tc;
    }
}

void check_t1_parameters(const AtrT1Parameters& t1, std::vector<std::string>& warnings) {
    if (t1.ifsc && (*t1.ifsc == 0 || *t1.ifsc == 0xff))
        warnings.push_back("T=1 IFSC " + std::to_string(*t1.ifsc) + " is reserved");
    if (t1.bwi && *t1.bwi > 9)
        warnings.push_back("T=1 BWI " + std::to_string(*t1.bwi) + " is reserved");
}

// The first TA, TB and TC of groups about T=1 (i > 2) carry IFSC, BWI/CWI and the
// error detection code (ISO/IEC 7816-3 clause 11.4).
void read_t1_parameters(Atr& atr) {
    if (std::find(atr.protocols.begin(), atr.protocols.end(), 1) == atr.protocols.end())
        return;
    AtrT1Parameters t1;
    for (const AtrInterfaceGroup& group : atr.groups) {
        if (group.index <= 2 || group.protocol != 1)
            continue;
        if (group.ta && !t1.ifsc)
            t1.ifsc = *group.ta;
        if (group.tb && !t1.bwi) {
            t1.bwi = *group.tb >> 4;
            t1.cwi = *group.tb & 0x0f;
        }
        if (group.tc && !t1.crc)
            t1.crc = (*group.tc & 0x01) != 0;
    }
    check_t1_parameters(t1, atr.warnings);
    atr.t1 = t1;
}

std::size_t read_historical(std::span<const std::uint8_t> bytes, std::size_t pos, Atr& atr) {
    std::size_t available = bytes.size() - pos;
    std::size_t count = std::min<std::size_t>(available, std::size_t(atr.k));
    if (count < std::size_t(atr.k)) {
        atr.warnings.push_back("T0 announces " + std::to_string(atr.k) +
                               " historical bytes, only " + std::to_string(count) + " are present");
    }
    atr.historical.raw.assign(bytes.begin() + pos, bytes.begin() + pos + count);
    return pos + count;
}

std::size_t read_tck(std::span<const std::uint8_t> bytes, std::size_t pos, Atr& atr) {
    if (!atr.tck_required)
        return pos;
    if (pos >= bytes.size()) {
        atr.warnings.push_back("TCK is missing although a protocol other than T=0 is indicated");
        return pos;
    }
    atr.tck = bytes[pos];
    std::uint8_t sum = 0;
    for (std::size_t i = 1; i <= pos; ++i)
        sum ^= bytes[i];
    atr.tck_valid = sum == 0;
    if (sum != 0) {
        atr.warnings.push_back("TCK " + hex_byte(bytes[pos]) + " is wrong: " +
                               hex_byte(std::uint8_t(bytes[pos] ^ sum)) + " expected");
    }
    return pos + 1;
}

void read_trailing(std::span<const std::uint8_t> bytes, std::size_t pos, Atr& atr) {
    if (pos >= bytes.size())
        return;
    atr.trailing.assign(bytes.begin() + pos, bytes.end());
    atr.warnings.push_back(std::to_string(atr.trailing.size()) +
                           " bytes follow the end of the ATR at byte " + std::to_string(pos));
}

}  // namespace

std::string_view to_string(Convention convention) {
    return convention == Convention::direct ? "direct" : "inverse";
}

Atr parse_atr(std::span<const std::uint8_t> bytes) {
    check_size(bytes);

    Atr atr;
    atr.raw.assign(bytes.begin(), bytes.end());
    atr.convention = convention_of(bytes[0]);
    atr.t0 = bytes[1];
    atr.y1 = atr.t0 >> 4;
    atr.k = atr.t0 & 0x0f;

    std::size_t pos = read_groups(bytes, atr);
    read_protocols(atr);
    read_global_parameters(atr);
    read_t1_parameters(atr);

    pos = read_historical(bytes, pos, atr);
    pos = read_tck(bytes, pos, atr);
    read_trailing(bytes, pos, atr);

    atr.historical = parse_historical_bytes(atr.historical.raw, atr.warnings);
    return atr;
}

}  // namespace cac
