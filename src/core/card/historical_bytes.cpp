// Historical bytes as ISO/IEC 7816-4:2013 clause 12.1.1 lays them out: a category
// indicator, then (for categories 00 and 80) compact-TLV data objects whose tag and
// length share one byte. With category 00 the last three bytes are a status indicator
// outside the TLV objects. Cards get the lengths wrong often enough that an overrun is
// reported, never trusted.
#include <string>

#include "core/card/atr.hpp"

namespace cac {
namespace {

constexpr int tag_card_service_data = 0x3;
constexpr int tag_pre_issuing_data = 0x6;
constexpr int tag_card_capabilities = 0x7;
constexpr int tag_status_indicator = 0x8;

using Warnings = std::vector<std::string>;

std::string at_byte(std::size_t offset) {
    return "historical byte " + std::to_string(offset) + ": ";
}

// The third software function table of the card capabilities (ISO/IEC 7816-4:2013
// 12.1.1): b8 command chaining, b7 extended Lc and Le, b3..b1 the number of logical
// channels less one (7: eight or more).
CardCapabilities read_capabilities(const Bytes& value) {
    CardCapabilities capabilities;
    capabilities.raw = value;
    if (value.size() >= 3) {
        std::uint8_t third = value[2];
        capabilities.command_chaining = (third & 0x80) != 0;
        capabilities.extended_length = (third & 0x40) != 0;
        capabilities.logical_channels = (third & 0x07) + 1;
    }
    return capabilities;
}

// One byte is the life cycle status, two a status word, three both.
std::optional<StatusIndicator> read_status(std::span<const std::uint8_t> value) {
    StatusIndicator status;
    if (value.size() == 1 || value.size() == 3)
        status.life_cycle = value[0];
    if (value.size() == 2 || value.size() == 3) {
        std::size_t at = value.size() - 2;
        status.sw = std::uint16_t(value[at] << 8 | value[at + 1]);
    }
    if (!status.life_cycle && !status.sw)
        return std::nullopt;
    return status;
}

void check_length(const CompactTlv& object, std::size_t min, std::size_t max, const char* name,
                  Warnings& warnings) {
    if (object.value.size() >= min && object.value.size() <= max)
        return;
    warnings.push_back(at_byte(object.offset) + name + " has " +
                       std::to_string(object.value.size()) + " bytes, " + std::to_string(min) +
                       (min == max ? "" : " to " + std::to_string(max)) + " expected");
}

void interpret(const CompactTlv& object, HistoricalBytes& historical, Warnings& warnings) {
    switch (object.tag) {
        case tag_card_service_data:
            check_length(object, 1, 1, "card service data", warnings);
            if (!object.value.empty())
                historical.card_service_data = object.value[0];
            break;
        case tag_pre_issuing_data:
            historical.pre_issuing_data = object.value;
            break;
        case tag_card_capabilities:
            check_length(object, 1, 3, "card capabilities", warnings);
            historical.capabilities = read_capabilities(object.value);
            break;
        case tag_status_indicator:
            check_length(object, 1, 3, "status indicator", warnings);
            historical.status = read_status(object.value);
            break;
        default:
            break;
    }
}

// Objects in bytes[begin, end); one whose length runs past `end` stops the walk.
void read_objects(std::span<const std::uint8_t> bytes, std::size_t begin, std::size_t end,
                  HistoricalBytes& historical, Warnings& warnings) {
    std::size_t pos = begin;
    while (pos < end) {
        int tag = bytes[pos] >> 4;
        std::size_t length = bytes[pos] & 0x0f;
        if (length > end - pos - 1) {
            warnings.push_back(at_byte(pos) + "compact-TLV object " + std::to_string(tag) +
                               " announces " + std::to_string(length) + " bytes, only " +
                               std::to_string(end - pos - 1) + " remain");
            return;
        }
        CompactTlv object{tag, pos,
                          Bytes(bytes.begin() + pos + 1, bytes.begin() + pos + 1 + length)};
        interpret(object, historical, warnings);
        historical.objects.push_back(std::move(object));
        pos += 1 + length;
    }
}

void read_category_00(std::span<const std::uint8_t> bytes, HistoricalBytes& historical,
                      Warnings& warnings) {
    if (bytes.size() < 4) {
        warnings.push_back(at_byte(1) + "category 00 needs a three-byte status indicator, " +
                           std::to_string(bytes.size() - 1) + " bytes follow");
        return;
    }
    std::size_t status_at = bytes.size() - 3;
    read_objects(bytes, 1, status_at, historical, warnings);
    historical.status = read_status(bytes.subspan(status_at));
}

void read_category_10(std::span<const std::uint8_t> bytes, HistoricalBytes& historical,
                      Warnings& warnings) {
    if (bytes.size() != 2) {
        warnings.push_back(at_byte(1) + "category 10 is followed by one DIR data reference, " +
                           std::to_string(bytes.size() - 1) + " bytes follow");
    }
    if (bytes.size() >= 2)
        historical.dir_data_reference = bytes[1];
}

}  // namespace

HistoricalBytes parse_historical_bytes(std::span<const std::uint8_t> bytes,
                                       std::vector<std::string>& warnings) {
    HistoricalBytes historical;
    historical.raw.assign(bytes.begin(), bytes.end());
    if (bytes.empty())
        return historical;
    historical.category = bytes[0];
    switch (bytes[0]) {
        case 0x00:
            read_category_00(bytes, historical, warnings);
            break;
        case 0x10:
            read_category_10(bytes, historical, warnings);
            break;
        case 0x80:
            read_objects(bytes, 1, bytes.size(), historical, warnings);
            break;
        default:
            break;  // proprietary, or reserved (81..8F): nothing to decode
    }
    return historical;
}

}  // namespace cac
