#include <doctest/doctest.h>

#include "core/pkcs11/mechanisms.hpp"
#include "core/pkcs11/slots.hpp"
#include "pkcs11_fake.hpp"

using namespace cac;
using namespace cac::test;

namespace {

// A module whose slot list is `sizes[n]` long at the n-th C_GetSlotList call.
void slot_list_by_call(FakeModule& fake, std::vector<CK_ULONG> sizes, bool update_count) {
    fake.get_slot_list = [sizes, update_count, call = std::size_t(0)](CK_BBOOL, CK_SLOT_ID* list,
                                                                      CK_ULONG* count) mutable {
        CK_ULONG now = sizes[std::min(call++, sizes.size() - 1)];
        if (list == nullptr) {
            *count = now;
            return CKR_OK;
        }
        if (*count < now) {
            if (update_count)
                *count = now;
            return CKR_BUFFER_TOO_SMALL;
        }
        for (CK_ULONG i = 0; i < now; ++i)
            list[i] = 10 + i;
        *count = now;
        return CKR_OK;
    };
}

CK_TOKEN_INFO token(const std::string& label, CK_FLAGS flags = CKF_TOKEN_INITIALIZED) {
    CK_TOKEN_INFO info{};
    set_field(info.label, label);
    set_field(info.manufacturerID, "piv_II");
    set_field(info.model, "PKCS#15 emulated");
    set_field(info.serialNumber, "00112233");
    info.flags = flags;
    return info;
}

void slots_with_tokens(FakeModule& fake) {
    slot_list_by_call(fake, {2}, false);
    fake.get_slot_info = [](CK_SLOT_ID, CK_SLOT_INFO* info) {
        *info = {};
        set_field(info->slotDescription, "Virtual PCD 00 00");
        set_field(info->manufacturerID, "OpenSC Project");
        info->flags = CKF_TOKEN_PRESENT | CKF_REMOVABLE_DEVICE | CKF_HW_SLOT;
        info->hardwareVersion = {1, 0};
        return CKR_OK;
    };
}

}  // namespace

TEST_CASE("a slot list that stays the same takes one call for the count and one for the list") {
    FakeModule fake;
    slot_list_by_call(fake, {3}, false);
    CHECK(slot_ids(fake.cryptoki(), false) == std::vector<CK_SLOT_ID>{10, 11, 12});
    CHECK(fake.count("C_GetSlotList") == 2);
}

TEST_CASE("a first call that says 0 slots gives an empty list") {
    FakeModule fake;
    slot_list_by_call(fake, {0}, false);
    CHECK(slot_ids(fake.cryptoki(), true).empty());
    CHECK(list_slots(fake.cryptoki()).empty());
}

TEST_CASE("a slot list that grows between the calls is asked again") {
    for (bool update : {true, false}) {
        CAPTURE(update);
        FakeModule fake;
        slot_list_by_call(fake, {1, 3, 3, 3}, update);
        CHECK(slot_ids(fake.cryptoki(), false) == std::vector<CK_SLOT_ID>{10, 11, 12});
        CHECK(fake.count("C_GetSlotList") == 4);
    }
}

TEST_CASE("a slot list that never settles ends in an error after bounded retries") {
    FakeModule fake;
    std::vector<CK_ULONG> growing;
    for (CK_ULONG n = 1; n < 40; ++n)
        growing.push_back(n);
    slot_list_by_call(fake, growing, true);
    try {
        (void)slot_ids(fake.cryptoki(), false);
        FAIL("no error");
    } catch (const Error& error) {
        CHECK(error.is(ErrorDomain::pkcs11, CKR_BUFFER_TOO_SMALL));
        CHECK(error.message().find("kept changing") != std::string::npos);
    }
    CHECK(fake.count("C_GetSlotList") == 10);
}

TEST_CASE("a failing C_GetSlotList is an error with its code") {
    FakeModule fake;
    fake.get_slot_list = [](CK_BBOOL, CK_SLOT_ID*, CK_ULONG*) { return CKR_DEVICE_ERROR; };
    CHECK_THROWS_AS((void)slot_ids(fake.cryptoki(), false), Error);
}

TEST_CASE("a slot whose token cannot be read is listed with its error beside the others") {
    FakeModule fake;
    slots_with_tokens(fake);
    fake.get_token_info = [](CK_SLOT_ID slot, CK_TOKEN_INFO* info) {
        if (slot == 10)
            return CKR_TOKEN_NOT_RECOGNIZED;
        *info = token("PIV_II");
        return CKR_OK;
    };
    std::vector<Slot> slots = list_slots(fake.cryptoki());
    REQUIRE(slots.size() == 2);
    CHECK(slots[0].id == 10);
    REQUIRE(slots[0].error);
    CHECK(slots[0].error->is(ErrorDomain::pkcs11, CKR_TOKEN_NOT_RECOGNIZED));
    CHECK(slots[0].info->description == "Virtual PCD 00 00");
    CHECK_FALSE(slots[0].token);
    REQUIRE(slots[1].token);
    CHECK(slots[1].token->label == "PIV_II");
    CHECK_FALSE(slots[1].error);
}

TEST_CASE("a slot whose slot info fails is still listed") {
    FakeModule fake;
    slots_with_tokens(fake);
    fake.get_slot_info = [](CK_SLOT_ID, CK_SLOT_INFO*) { return CKR_SLOT_ID_INVALID; };
    std::vector<Slot> slots = list_slots(fake.cryptoki());
    REQUIRE(slots.size() == 2);
    CHECK(slots[1].error->is(ErrorDomain::pkcs11, CKR_SLOT_ID_INVALID));
    CHECK_FALSE(slots[1].info);
}

TEST_CASE("text fields read the same whichever way the module pads them") {
    CK_TOKEN_INFO info = token("");
    set_field(info.label, "PIV_II");
    CHECK(decode_token_info(info).label == "PIV_II");
    set_field_left_padded(info.label, "PIV_II");
    CHECK(decode_token_info(info).label == "PIV_II");
    set_field(info.label, "PIV_II", '\0');
    CHECK(decode_token_info(info).label == "PIV_II");
    set_field(info.label, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345");  // all 32 bytes, no terminator
    CHECK(decode_token_info(info).label == "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345");
    CHECK(decode_token_info(info).manufacturer == "piv_II");  // the next field is not read

    CK_SLOT_INFO slot{};
    set_field_left_padded(slot.slotDescription, "Reader 0");
    set_field(slot.manufacturerID, "Vendor", '\0');
    CHECK(decode_slot_info(slot).description == "Reader 0");
    CHECK(decode_slot_info(slot).manufacturer == "Vendor");
}

TEST_CASE("token flags decode to lowercase names and PIN status") {
    CK_FLAGS flags = CKF_LOGIN_REQUIRED | CKF_USER_PIN_COUNT_LOW |
                     CKF_PROTECTED_AUTHENTICATION_PATH | CKF_SO_PIN_LOCKED | CKF_TOKEN_INITIALIZED;
    TokenInfo info = decode_token_info(token("PIV_II", flags));
    CHECK(info.flag_names ==
          std::vector<std::string>{"login_required", "protected_authentication_path",
                                   "token_initialized", "user_pin_count_low", "so_pin_locked"});
    CHECK(info.user_pin.count_low);
    CHECK_FALSE(info.user_pin.final_try);
    CHECK_FALSE(info.user_pin.locked);
    CHECK(info.so_pin.locked);
    CHECK_FALSE(info.so_pin.count_low);
    TokenInfo locked = decode_token_info(
        token("x", CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED | CKF_USER_PIN_TO_BE_CHANGED));
    CHECK(locked.user_pin.final_try);
    CHECK(locked.user_pin.locked);
    CHECK(locked.user_pin.to_be_changed);
    CHECK(token_flag_names(0x80000000UL) == std::vector<std::string>{"0x80000000"});
}

TEST_CASE("token counts and versions decode, unavailable ones are empty") {
    CK_TOKEN_INFO raw = token("PIV_II");
    raw.ulMaxSessionCount = CK_UNAVAILABLE_INFORMATION;
    raw.ulSessionCount = 1;
    raw.ulMinPinLen = 6;
    raw.ulMaxPinLen = 8;
    raw.firmwareVersion = {2, 5};
    TokenInfo info = decode_token_info(raw);
    CHECK_FALSE(info.max_session_count);
    CHECK(info.session_count == 1UL);
    CHECK(info.min_pin_length == 6);
    CHECK(info.max_pin_length == 8);
    // pkcs11-tool prints {2, 5} as "2.5".
    CHECK(info.firmware_version == "2.5");
}

TEST_CASE("slot flags decode") {
    CK_SLOT_INFO raw{};
    raw.flags = CKF_TOKEN_PRESENT | CKF_REMOVABLE_DEVICE | CKF_HW_SLOT;
    SlotInfo info = decode_slot_info(raw);
    CHECK(info.token_present);
    CHECK(info.flag_names ==
          std::vector<std::string>{"token_present", "removable_device", "hw_slot"});
}

TEST_CASE("mechanisms are listed with names, key sizes and flags") {
    FakeModule fake;
    fake.get_mechanism_list = [](CK_SLOT_ID, CK_MECHANISM_TYPE* list, CK_ULONG* count) {
        const CK_MECHANISM_TYPE types[] = {CKM_RSA_PKCS, CKM_ECDSA_SHA256, 0x80001234UL};
        if (list != nullptr)
            std::copy(std::begin(types), std::end(types), list);
        *count = 3;
        return CKR_OK;
    };
    fake.get_mechanism_info = [](CK_SLOT_ID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO* info) {
        if (type == 0x80001234UL)
            return CKR_MECHANISM_INVALID;
        *info = {1024, 4096, CKF_HW | CKF_SIGN | CKF_VERIFY};
        return CKR_OK;
    };
    std::vector<Mechanism> mechanisms = list_mechanisms(fake.cryptoki(), 0);
    REQUIRE(mechanisms.size() == 3);
    CHECK(mechanisms[0].name == "CKM_RSA_PKCS");
    CHECK(mechanisms[0].info->ulMinKeySize == 1024);
    CHECK(mechanisms[0].info->ulMaxKeySize == 4096);
    CHECK(mechanisms[0].flag_names == std::vector<std::string>{"hw", "sign", "verify"});
    CHECK(mechanisms[1].name == "CKM_ECDSA_SHA256");
    CHECK(mechanisms[2].name == "0x80001234");
    CHECK(mechanisms[2].error->is(ErrorDomain::pkcs11, CKR_MECHANISM_INVALID));
    CHECK(mechanism_name(CKM_SHA256_RSA_PKCS_PSS) == "CKM_SHA256_RSA_PKCS_PSS");
    CHECK(mechanism_name(CKM_RSA_PKCS_OAEP) == "CKM_RSA_PKCS_OAEP");
    CHECK(mechanism_flag_names(CKF_GENERATE_KEY_PAIR | CKF_EC_NAMEDCURVE) ==
          std::vector<std::string>{"generate_key_pair", "ec_namedcurve"});
}
