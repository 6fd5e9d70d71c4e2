// Slots and the tokens in them, decoded from CK_SLOT_INFO and CK_TOKEN_INFO.
#pragma once

#include <p11-kit/pkcs11.h>

#include <optional>
#include <string>
#include <vector>

#include "core/pkcs11/cryptoki.hpp"
#include "core/util/error.hpp"

namespace cac {

struct PinStatus {
    bool count_low = false;  // CKF_*_PIN_COUNT_LOW: a wrong PIN was entered since the last good one
    bool final_try = false;  // CKF_*_PIN_FINAL_TRY: the next wrong PIN locks it
    bool locked = false;     // CKF_*_PIN_LOCKED
    bool to_be_changed = false;  // CKF_*_PIN_TO_BE_CHANGED
};

struct SlotInfo {
    std::string description;
    std::string manufacturer;
    CK_FLAGS flags = 0;
    std::vector<std::string> flag_names;  // "token_present", "removable_device", "hw_slot"
    bool token_present = false;
    std::string hardware_version;  // "1.00"
    std::string firmware_version;
    CK_SLOT_INFO raw{};
};

struct TokenInfo {
    std::string label;
    std::string manufacturer;
    std::string model;
    std::string serial;
    CK_FLAGS flags = 0;
    std::vector<std::string> flag_names;  // "login_required", "user_pin_count_low", ...
    PinStatus user_pin;
    PinStatus so_pin;
    // Counts the module reports as CK_UNAVAILABLE_INFORMATION are empty. A maximum of 0
    // is CK_EFFECTIVELY_INFINITE.
    std::optional<CK_ULONG> max_session_count;
    std::optional<CK_ULONG> session_count;
    std::optional<CK_ULONG> max_rw_session_count;
    std::optional<CK_ULONG> rw_session_count;
    CK_ULONG min_pin_length = 0;
    CK_ULONG max_pin_length = 0;
    std::optional<CK_ULONG> total_public_memory;
    std::optional<CK_ULONG> free_public_memory;
    std::optional<CK_ULONG> total_private_memory;
    std::optional<CK_ULONG> free_private_memory;
    std::string hardware_version;
    std::string firmware_version;
    CK_TOKEN_INFO raw{};
};

// One slot as listed. A slot whose C_GetSlotInfo or C_GetTokenInfo failed is still
// listed, with what could be read and the failure in `error`.
struct Slot {
    CK_SLOT_ID id = 0;
    std::optional<SlotInfo> info;
    std::optional<TokenInfo> token;  // set when a token is present and could be read
    std::optional<Error> error;
};

// Lowercase names without the CKF_ prefix, in bit order; unknown bits as "0x00000400".
std::vector<std::string> slot_flag_names(CK_FLAGS flags);
std::vector<std::string> token_flag_names(CK_FLAGS flags);
PinStatus user_pin_status(CK_FLAGS token_flags);
PinStatus so_pin_status(CK_FLAGS token_flags);

SlotInfo decode_slot_info(const CK_SLOT_INFO& raw);
TokenInfo decode_token_info(const CK_TOKEN_INFO& raw);

// C_GetSlotList with the two-call idiom and bounded retries (see list_fetch.hpp).
[[nodiscard]] std::vector<CK_SLOT_ID> slot_ids(const Cryptoki& cryptoki, bool token_present);

// Every slot with its slot and token information.
[[nodiscard]] std::vector<Slot> list_slots(const Cryptoki& cryptoki, bool token_present = false);

// One slot's information, never throwing for that slot's own failures.
[[nodiscard]] Slot read_slot(const Cryptoki& cryptoki, CK_SLOT_ID id);

}  // namespace cac
