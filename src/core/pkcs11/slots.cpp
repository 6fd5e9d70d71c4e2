#include "core/pkcs11/slots.hpp"

#include <cstdio>

#include "core/pkcs11/list_fetch.hpp"
#include "core/pkcs11/module.hpp"
#include "core/util/text.hpp"

namespace cac {
namespace {

// PKCS#11 v3.0 added this flag; p11-kit's header predates it.
constexpr CK_FLAGS ckf_error_state = 0x01000000UL;

struct FlagName {
    CK_FLAGS bit;
    const char* name;
};

const FlagName slot_flags[] = {
    {CKF_TOKEN_PRESENT, "token_present"},
    {CKF_REMOVABLE_DEVICE, "removable_device"},
    {CKF_HW_SLOT, "hw_slot"},
};

// PKCS#11 v2.40 section 3.2, table 11 (token information flags).
const FlagName token_flags[] = {
    {CKF_RNG, "rng"},
    {CKF_WRITE_PROTECTED, "write_protected"},
    {CKF_LOGIN_REQUIRED, "login_required"},
    {CKF_USER_PIN_INITIALIZED, "user_pin_initialized"},
    {CKF_RESTORE_KEY_NOT_NEEDED, "restore_key_not_needed"},
    {CKF_CLOCK_ON_TOKEN, "clock_on_token"},
    {CKF_PROTECTED_AUTHENTICATION_PATH, "protected_authentication_path"},
    {CKF_DUAL_CRYPTO_OPERATIONS, "dual_crypto_operations"},
    {CKF_TOKEN_INITIALIZED, "token_initialized"},
    {CKF_SECONDARY_AUTHENTICATION, "secondary_authentication"},
    {CKF_USER_PIN_COUNT_LOW, "user_pin_count_low"},
    {CKF_USER_PIN_FINAL_TRY, "user_pin_final_try"},
    {CKF_USER_PIN_LOCKED, "user_pin_locked"},
    {CKF_USER_PIN_TO_BE_CHANGED, "user_pin_to_be_changed"},
    {CKF_SO_PIN_COUNT_LOW, "so_pin_count_low"},
    {CKF_SO_PIN_FINAL_TRY, "so_pin_final_try"},
    {CKF_SO_PIN_LOCKED, "so_pin_locked"},
    {CKF_SO_PIN_TO_BE_CHANGED, "so_pin_to_be_changed"},
    {ckf_error_state, "error_state"},
};

template <std::size_t N>
std::vector<std::string> decode_flags(CK_FLAGS flags, const FlagName (&table)[N]) {
    std::vector<std::string> names;
    CK_FLAGS known = 0;
    for (const auto& entry : table) {
        known |= entry.bit;
        if (flags & entry.bit)
            names.emplace_back(entry.name);
    }
    for (CK_FLAGS bit = 1; bit != 0; bit <<= 1) {
        if ((flags & bit) && !(known & bit)) {
            char text[24];
            std::snprintf(text, sizeof text, "0x%08lx", static_cast<unsigned long>(bit));
            names.emplace_back(text);
        }
    }
    return names;
}

std::optional<CK_ULONG> known(CK_ULONG value) {
    if (value == CK_UNAVAILABLE_INFORMATION)
        return std::nullopt;
    return value;
}

}  // namespace

std::vector<std::string> slot_flag_names(CK_FLAGS flags) {
    return decode_flags(flags, slot_flags);
}

std::vector<std::string> token_flag_names(CK_FLAGS flags) {
    return decode_flags(flags, token_flags);
}

PinStatus user_pin_status(CK_FLAGS flags) {
    return {(flags & CKF_USER_PIN_COUNT_LOW) != 0, (flags & CKF_USER_PIN_FINAL_TRY) != 0,
            (flags & CKF_USER_PIN_LOCKED) != 0, (flags & CKF_USER_PIN_TO_BE_CHANGED) != 0};
}

PinStatus so_pin_status(CK_FLAGS flags) {
    return {(flags & CKF_SO_PIN_COUNT_LOW) != 0, (flags & CKF_SO_PIN_FINAL_TRY) != 0,
            (flags & CKF_SO_PIN_LOCKED) != 0, (flags & CKF_SO_PIN_TO_BE_CHANGED) != 0};
}

SlotInfo decode_slot_info(const CK_SLOT_INFO& raw) {
    SlotInfo info;
    info.raw = raw;
    info.description = fixed_field_text(raw.slotDescription);
    info.manufacturer = fixed_field_text(raw.manufacturerID);
    info.flags = raw.flags;
    info.flag_names = slot_flag_names(raw.flags);
    info.token_present = (raw.flags & CKF_TOKEN_PRESENT) != 0;
    info.hardware_version = version_text(raw.hardwareVersion);
    info.firmware_version = version_text(raw.firmwareVersion);
    return info;
}

TokenInfo decode_token_info(const CK_TOKEN_INFO& raw) {
    TokenInfo info;
    info.raw = raw;
    info.label = fixed_field_text(raw.label);
    info.manufacturer = fixed_field_text(raw.manufacturerID);
    info.model = fixed_field_text(raw.model);
    info.serial = fixed_field_text(raw.serialNumber);
    info.flags = raw.flags;
    info.flag_names = token_flag_names(raw.flags);
    info.user_pin = user_pin_status(raw.flags);
    info.so_pin = so_pin_status(raw.flags);
    info.max_session_count = known(raw.ulMaxSessionCount);
    info.session_count = known(raw.ulSessionCount);
    info.max_rw_session_count = known(raw.ulMaxRwSessionCount);
    info.rw_session_count = known(raw.ulRwSessionCount);
    info.min_pin_length = raw.ulMinPinLen;
    info.max_pin_length = raw.ulMaxPinLen;
    info.total_public_memory = known(raw.ulTotalPublicMemory);
    info.free_public_memory = known(raw.ulFreePublicMemory);
    info.total_private_memory = known(raw.ulTotalPrivateMemory);
    info.free_private_memory = known(raw.ulFreePrivateMemory);
    info.hardware_version = version_text(raw.hardwareVersion);
    info.firmware_version = version_text(raw.firmwareVersion);
    return info;
}

std::vector<CK_SLOT_ID> slot_ids(const Cryptoki& cryptoki, bool token_present) {
    return fetch_list<CK_SLOT_ID>("C_GetSlotList", [&](CK_SLOT_ID* list, CK_ULONG* count) {
        return cryptoki.get_slot_list(token_present, list, count);
    });
}

Slot read_slot(const Cryptoki& cryptoki, CK_SLOT_ID id) {
    Slot slot;
    slot.id = id;
    CK_SLOT_INFO slot_raw{};
    CK_RV rv = cryptoki.get_slot_info(id, &slot_raw);
    if (rv != CKR_OK) {
        slot.error = Error(ErrorDomain::pkcs11, std::uint32_t(rv), "C_GetSlotInfo")
                         .with_slot(std::to_string(id));
        return slot;
    }
    slot.info = decode_slot_info(slot_raw);
    if (!slot.info->token_present)
        return slot;
    CK_TOKEN_INFO token_raw{};
    rv = cryptoki.get_token_info(id, &token_raw);
    if (rv != CKR_OK) {
        slot.error = Error(ErrorDomain::pkcs11, std::uint32_t(rv), "C_GetTokenInfo")
                         .with_slot(std::to_string(id));
        return slot;
    }
    slot.token = decode_token_info(token_raw);
    return slot;
}

std::vector<Slot> list_slots(const Cryptoki& cryptoki, bool token_present) {
    std::vector<Slot> slots;
    for (CK_SLOT_ID id : slot_ids(cryptoki, token_present))
        slots.push_back(read_slot(cryptoki, id));
    return slots;
}

}  // namespace cac
