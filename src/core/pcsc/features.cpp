#include "core/pcsc/features.hpp"

#include <array>
#include <cstdio>

// reader.h declares structures with zero-length arrays, which -Wpedantic rejects.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include <reader.h>
#pragma GCC diagnostic pop

#include "core/util/error.hpp"

namespace cac::pcsc {
namespace {

struct NamedFeature {
    std::uint8_t tag;
    const char* name;
};

constexpr std::array feature_names = {
    NamedFeature{0x01, "FEATURE_VERIFY_PIN_START"},
    NamedFeature{0x02, "FEATURE_VERIFY_PIN_FINISH"},
    NamedFeature{0x03, "FEATURE_MODIFY_PIN_START"},
    NamedFeature{0x04, "FEATURE_MODIFY_PIN_FINISH"},
    NamedFeature{0x05, "FEATURE_GET_KEY_PRESSED"},
    NamedFeature{0x06, "FEATURE_VERIFY_PIN_DIRECT"},
    NamedFeature{0x07, "FEATURE_MODIFY_PIN_DIRECT"},
    NamedFeature{0x08, "FEATURE_MCT_READER_DIRECT"},
    NamedFeature{0x09, "FEATURE_MCT_UNIVERSAL"},
    NamedFeature{0x0A, "FEATURE_IFD_PIN_PROPERTIES"},
    NamedFeature{0x0B, "FEATURE_ABORT"},
    NamedFeature{0x0C, "FEATURE_SET_SPE_MESSAGE"},
    NamedFeature{0x0D, "FEATURE_VERIFY_PIN_DIRECT_APP_ID"},
    NamedFeature{0x0E, "FEATURE_MODIFY_PIN_DIRECT_APP_ID"},
    NamedFeature{0x0F, "FEATURE_WRITE_DISPLAY"},
    NamedFeature{0x10, "FEATURE_GET_KEY"},
    NamedFeature{0x11, "FEATURE_IFD_DISPLAY_PROPERTIES"},
    NamedFeature{0x12, "FEATURE_GET_TLV_PROPERTIES"},
    NamedFeature{0x13, "FEATURE_CCID_ESC_COMMAND"},
    NamedFeature{0x20, "FEATURE_EXECUTE_PACE"},
};

[[noreturn]] void fail(const char* what, std::size_t offset, const std::string& reason) {
    throw Error(CoreCode::parse_error, what, "byte " + std::to_string(offset) + ": " + reason);
}

// Little-endian, as part 10 encodes property values; `length` is at most 4.
std::uint32_t little_endian(std::span<const std::uint8_t> value) {
    std::uint32_t number = 0;
    for (std::size_t i = value.size(); i-- > 0;)
        number = (number << 8) | value[i];
    return number;
}

// Stores a number property; a value shorter than the property's width is accepted (the
// little-endian reading is the same), a longer one is not.
template <typename T>
void store(std::optional<T>& field, std::span<const std::uint8_t> value, std::size_t offset) {
    if (value.size() > sizeof(T) || value.empty())
        fail("parse the reader's TLV properties", offset,
             "a value of " + std::to_string(value.size()) + " bytes where at most " +
                 std::to_string(sizeof(T)) + " fit");
    field = T(little_endian(value));
}

void store_property(TlvProperties& p, std::uint8_t tag, std::span<const std::uint8_t> value,
                    std::size_t offset) {
    switch (tag) {
        case PCSCv2_PART10_PROPERTY_wLcdLayout:
            return store(p.lcd_layout, value, offset);
        case PCSCv2_PART10_PROPERTY_bEntryValidationCondition:
            return store(p.entry_validation_condition, value, offset);
        case PCSCv2_PART10_PROPERTY_bTimeOut2:
            return store(p.timeout2, value, offset);
        case PCSCv2_PART10_PROPERTY_wLcdMaxCharacters:
            return store(p.lcd_max_characters, value, offset);
        case PCSCv2_PART10_PROPERTY_wLcdMaxLines:
            return store(p.lcd_max_lines, value, offset);
        case PCSCv2_PART10_PROPERTY_bMinPINSize:
            return store(p.min_pin_size, value, offset);
        case PCSCv2_PART10_PROPERTY_bMaxPINSize:
            return store(p.max_pin_size, value, offset);
        case PCSCv2_PART10_PROPERTY_sFirmwareID:
            p.firmware_id = std::string(value.begin(), value.end());
            return;
        case PCSCv2_PART10_PROPERTY_bPPDUSupport:
            return store(p.ppdu_support, value, offset);
        case PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize:
            return store(p.max_apdu_data_size, value, offset);
        case PCSCv2_PART10_PROPERTY_wIdVendor:
            return store(p.vendor_id, value, offset);
        case PCSCv2_PART10_PROPERTY_wIdProduct:
            return store(p.product_id, value, offset);
        default:
            p.unknown.emplace_back(tag, Bytes(value.begin(), value.end()));
    }
}

// Walks tag-length-value entries with one-byte tags and lengths, handing each to `entry`.
template <typename Entry>
void walk(std::span<const std::uint8_t> bytes, const char* what, Entry&& entry) {
    std::size_t at = 0;
    while (at < bytes.size()) {
        if (bytes.size() - at < 2)
            fail(what, at, "an entry with a tag but no length");
        std::uint8_t tag = bytes[at];
        std::size_t length = bytes[at + 1];
        if (bytes.size() - at - 2 < length)
            fail(what, at,
                 "an entry of " + std::to_string(length) + " bytes with only " +
                     std::to_string(bytes.size() - at - 2) + " left");
        entry(tag, bytes.subspan(at + 2, length), at);
        at += 2 + length;
    }
}

}  // namespace

std::string feature_name(std::uint8_t tag) {
    for (const auto& entry : feature_names) {
        if (entry.tag == tag)
            return entry.name;
    }
    char text[24];
    std::snprintf(text, sizeof text, "FEATURE_0x%02X", unsigned(tag));
    return text;
}

std::vector<Feature> parse_feature_list(std::span<const std::uint8_t> bytes) {
    std::vector<Feature> features;
    const char* what = "parse the reader's feature list";
    walk(bytes, what, [&](std::uint8_t tag, std::span<const std::uint8_t> value, std::size_t at) {
        if (value.size() != 4)
            fail(what, at,
                 feature_name(tag) + " has a value of " + std::to_string(value.size()) +
                     " bytes, not a 4-byte control code");
        std::uint32_t code = (std::uint32_t(value[0]) << 24) | (std::uint32_t(value[1]) << 16) |
                             (std::uint32_t(value[2]) << 8) | value[3];
        features.push_back({tag, code});
    });
    return features;
}

TlvProperties parse_tlv_properties(std::span<const std::uint8_t> bytes) {
    TlvProperties properties;
    walk(bytes, "parse the reader's TLV properties",
         [&](std::uint8_t tag, std::span<const std::uint8_t> value, std::size_t at) {
             store_property(properties, tag, value, at);
         });
    return properties;
}

std::optional<std::uint32_t> ReaderFeatures::control_code(FeatureTag tag) const {
    for (const auto& feature : features) {
        if (feature.tag == std::uint8_t(tag))
            return feature.control_code;
    }
    return std::nullopt;
}

ReaderFeatures read_features(const CardHandle& card) {
    ReaderFeatures result;
    Bytes list;
    try {
        list = card.control(CM_IOCTL_GET_FEATURE_REQUEST);
    } catch (const Error& error) {
        if (error.is(ErrorDomain::pcsc, std::uint32_t(SCARD_E_UNSUPPORTED_FEATURE)) ||
            error.is(ErrorDomain::pcsc, std::uint32_t(SCARD_E_INVALID_VALUE)))
            return result;
        throw;
    }
    result.features = parse_feature_list(list);
    if (auto code = result.control_code(FeatureTag::get_tlv_properties))
        result.properties = parse_tlv_properties(card.control(*code));
    return result;
}

}  // namespace cac::pcsc
