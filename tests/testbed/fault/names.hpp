// Names of PKCS#11 return values, flags and functions, for the fault module's
// configuration (which takes names) and its log (which writes them).
#pragma once

#include <p11-kit/pkcs11.h>

#include <optional>
#include <string>
#include <string_view>

namespace fault {

// Every function of the PKCS#11 2.40 function list in its order (CK_FUNCTION_LIST,
// PKCS#11 v2.40 section 3.6). The enum below adds the two PKCS#11 3.0 interface
// functions the module exports beside C_GetFunctionList. Kept one layout by hand:
// clang-format would re-wrap the macro differently on every run.
// clang-format off
#define FAULT_LIST_FUNCTIONS(X) \
    X(C_Initialize) X(C_Finalize) X(C_GetInfo) X(C_GetFunctionList) \
    X(C_GetSlotList) X(C_GetSlotInfo) X(C_GetTokenInfo) X(C_GetMechanismList) \
    X(C_GetMechanismInfo) X(C_InitToken) X(C_InitPIN) X(C_SetPIN) \
    X(C_OpenSession) X(C_CloseSession) X(C_CloseAllSessions) X(C_GetSessionInfo) \
    X(C_GetOperationState) X(C_SetOperationState) X(C_Login) X(C_Logout) \
    X(C_CreateObject) X(C_CopyObject) X(C_DestroyObject) X(C_GetObjectSize) \
    X(C_GetAttributeValue) X(C_SetAttributeValue) X(C_FindObjectsInit) X(C_FindObjects) \
    X(C_FindObjectsFinal) X(C_EncryptInit) X(C_Encrypt) X(C_EncryptUpdate) \
    X(C_EncryptFinal) X(C_DecryptInit) X(C_Decrypt) X(C_DecryptUpdate) \
    X(C_DecryptFinal) X(C_DigestInit) X(C_Digest) X(C_DigestUpdate) \
    X(C_DigestKey) X(C_DigestFinal) X(C_SignInit) X(C_Sign) \
    X(C_SignUpdate) X(C_SignFinal) X(C_SignRecoverInit) X(C_SignRecover) \
    X(C_VerifyInit) X(C_Verify) X(C_VerifyUpdate) X(C_VerifyFinal) \
    X(C_VerifyRecoverInit) X(C_VerifyRecover) X(C_DigestEncryptUpdate) X(C_DecryptDigestUpdate) \
    X(C_SignEncryptUpdate) X(C_DecryptVerifyUpdate) X(C_GenerateKey) X(C_GenerateKeyPair) \
    X(C_WrapKey) X(C_UnwrapKey) X(C_DeriveKey) X(C_SeedRandom) \
    X(C_GenerateRandom) X(C_GetFunctionStatus) X(C_CancelFunction) X(C_WaitForSlotEvent)
// clang-format on

#define FAULT_ENUM_ENTRY(name) name,
enum class Function { FAULT_LIST_FUNCTIONS(FAULT_ENUM_ENTRY) C_GetInterfaceList, C_GetInterface };
#undef FAULT_ENUM_ENTRY

inline constexpr std::size_t function_count = std::size_t(Function::C_GetInterface) + 1;

const char* function_name(Function function);
std::optional<Function> function_by_name(std::string_view name);

// "CKR_DEVICE_ERROR", or "0x..." for a value PKCS#11 2.40 does not name.
std::string rv_name(CK_RV rv);
std::optional<CK_RV> rv_by_name(std::string_view name);

// CK_TOKEN_INFO and CK_SLOT_INFO flags (PKCS#11 v2.40 section 3.2).
std::optional<CK_FLAGS> token_flag_by_name(std::string_view name);
std::optional<CK_FLAGS> slot_flag_by_name(std::string_view name);

}  // namespace fault
