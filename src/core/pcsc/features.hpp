// Reader features from PC/SC part 10 ("IFDs with Secure PIN Entry Capabilities",
// v2.02.09): the feature list a reader answers to CM_IOCTL_GET_FEATURE_REQUEST, and the
// properties behind FEATURE_GET_TLV_PROPERTIES (PIN pad limits, largest APDU).
//
// Both answers are untrusted bytes from a reader driver; the parsers read nothing past
// the end and name the offset of whatever is wrong.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/pcsc/card_handle.hpp"
#include "core/util/hex.hpp"

namespace cac::pcsc {

// Feature tags, part 10 section 2.3 (as pcsc-lite's reader.h numbers them).
enum class FeatureTag : std::uint8_t {
    verify_pin_start = 0x01,
    verify_pin_finish = 0x02,
    modify_pin_start = 0x03,
    modify_pin_finish = 0x04,
    get_key_pressed = 0x05,
    verify_pin_direct = 0x06,
    modify_pin_direct = 0x07,
    mct_reader_direct = 0x08,
    mct_universal = 0x09,
    ifd_pin_properties = 0x0A,
    abort = 0x0B,
    set_spe_message = 0x0C,
    verify_pin_direct_app_id = 0x0D,
    modify_pin_direct_app_id = 0x0E,
    write_display = 0x0F,
    get_key = 0x10,
    ifd_display_properties = 0x11,
    get_tlv_properties = 0x12,
    ccid_esc_command = 0x13,
    execute_pace = 0x20,
};

// "FEATURE_VERIFY_PIN_DIRECT"; "FEATURE_0x42" for a tag without a name.
std::string feature_name(std::uint8_t tag);

struct Feature {
    std::uint8_t tag = 0;
    std::uint32_t control_code = 0;  // for SCardControl
};

// The answer to CM_IOCTL_GET_FEATURE_REQUEST: entries of tag, length 4 and the control
// code in big-endian order. Throws Error(CoreCode::parse_error) naming the offset.
[[nodiscard]] std::vector<Feature> parse_feature_list(std::span<const std::uint8_t> bytes);

// The answer to FEATURE_GET_TLV_PROPERTIES: entries of tag, length and a little-endian
// value (a string for sFirmwareID). Absent properties stay empty; unknown tags are kept.
struct TlvProperties {
    std::optional<std::uint16_t> lcd_layout;                 // wLcdLayout (1)
    std::optional<std::uint8_t> entry_validation_condition;  // bEntryValidationCondition (2)
    std::optional<std::uint8_t> timeout2;                    // bTimeOut2 (3)
    std::optional<std::uint16_t> lcd_max_characters;         // wLcdMaxCharacters (4)
    std::optional<std::uint16_t> lcd_max_lines;              // wLcdMaxLines (5)
    std::optional<std::uint8_t> min_pin_size;                // bMinPINSize (6)
    std::optional<std::uint8_t> max_pin_size;                // bMaxPINSize (7)
    std::optional<std::string> firmware_id;                  // sFirmwareID (8)
    std::optional<std::uint8_t> ppdu_support;                // bPPDUSupport (9)
    std::optional<std::uint32_t> max_apdu_data_size;         // dwMaxAPDUDataSize (10)
    std::optional<std::uint16_t> vendor_id;                  // wIdVendor (11)
    std::optional<std::uint16_t> product_id;                 // wIdProduct (12)
    std::vector<std::pair<std::uint8_t, Bytes>> unknown;
};

// Throws Error(CoreCode::parse_error) naming the offset: an entry cut short, or a
// number longer than its property allows.
[[nodiscard]] TlvProperties parse_tlv_properties(std::span<const std::uint8_t> bytes);

struct ReaderFeatures {
    std::vector<Feature> features;
    std::optional<TlvProperties> properties;  // when the reader has GET_TLV_PROPERTIES

    std::optional<std::uint32_t> control_code(FeatureTag tag) const;
    bool has(FeatureTag tag) const { return control_code(tag).has_value(); }
    // The reader can take a PIN on its own keypad.
    bool pin_pad() const { return has(FeatureTag::verify_pin_direct); }
};

// Asks the reader through `card` (any share mode; direct works without a card). A
// reader that does not implement the request (SCARD_E_UNSUPPORTED_FEATURE, as vpcd 3.3
// answers, or SCARD_E_INVALID_VALUE) has no features; other failures throw.
[[nodiscard]] ReaderFeatures read_features(const CardHandle& card);

}  // namespace cac::pcsc
