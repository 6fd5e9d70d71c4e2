// A PKCS#11 function list for unit tests, whose every entry can be made to answer as a
// given module does. The entries are plain functions (a CK_FUNCTION_LIST holds C function
// pointers) that forward to the one FakeModule alive at the time.
#pragma once

#include <p11-kit/pkcs11.h>

#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/pkcs11/cryptoki.hpp"

namespace cac::test {

// How a fake object answers C_GetAttributeValue.
enum class BatchStyle {
    standard,    // as PKCS#11 v2.40 section 5.7 says: every entry answered
    stop_early,  // gives up at the first bad entry, leaving the later ones untouched
    single_only  // CKR_FUNCTION_FAILED for any template of more than one entry
};

struct FakeAttribute {
    std::vector<unsigned char> value;
    CK_RV error = CKR_OK;         // CKR_ATTRIBUTE_SENSITIVE, or CKR_OK
    bool unavailable = false;     // answers CK_UNAVAILABLE_INFORMATION with CKR_OK
    CK_ULONG claimed_length = 0;  // when non-zero, the length query says this
};

struct FakeModule {
    CK_FUNCTION_LIST list{};
    std::vector<std::string> calls;

    std::function<CK_RV(CK_VOID_PTR)> initialize = [](CK_VOID_PTR) { return CKR_OK; };
    std::function<CK_RV()> finalize = [] { return CKR_OK; };
    std::function<CK_RV(CK_INFO*)> get_info = [](CK_INFO*) { return CKR_OK; };
    std::function<CK_RV(CK_BBOOL, CK_SLOT_ID*, CK_ULONG*)> get_slot_list;
    std::function<CK_RV(CK_SLOT_ID, CK_SLOT_INFO*)> get_slot_info;
    std::function<CK_RV(CK_SLOT_ID, CK_TOKEN_INFO*)> get_token_info;
    std::function<CK_RV(CK_SLOT_ID, CK_MECHANISM_TYPE*, CK_ULONG*)> get_mechanism_list;
    std::function<CK_RV(CK_SLOT_ID, CK_MECHANISM_TYPE, CK_MECHANISM_INFO*)> get_mechanism_info;
    std::function<CK_RV(CK_USER_TYPE, const unsigned char*, CK_ULONG)> login =
        [](CK_USER_TYPE, const unsigned char*, CK_ULONG) { return CKR_OK; };
    std::function<CK_RV()> logout = [] { return CKR_OK; };
    CK_RV open_session_rv = CKR_OK;
    CK_RV find_objects_init_rv = CKR_OK;
    CK_RV find_objects_rv = CKR_OK;

    // Objects for C_FindObjects (all of them, whatever the template) and their attributes.
    std::vector<CK_OBJECT_HANDLE> objects;
    std::map<CK_OBJECT_HANDLE, std::map<CK_ATTRIBUTE_TYPE, FakeAttribute>> attributes;
    BatchStyle batch_style = BatchStyle::standard;
    std::size_t found_so_far = 0;
    std::vector<CK_ULONG> get_attribute_counts;  // the template size of each call

    FakeModule();
    ~FakeModule();
    FakeModule(const FakeModule&) = delete;
    FakeModule& operator=(const FakeModule&) = delete;

    Cryptoki cryptoki() { return Cryptoki(&list); }
    int count(const std::string& name) const;

    static FakeModule& current();
};

// Fills a fixed-width field byte for byte (no padding added).
template <std::size_t N>
void set_field(unsigned char (&field)[N], const std::string& bytes, char pad = ' ') {
    std::memset(field, pad, N);
    std::memcpy(field, bytes.data(), std::min(bytes.size(), N));
}

template <std::size_t N>
void set_field_left_padded(unsigned char (&field)[N], const std::string& text) {
    std::memset(field, ' ', N);
    std::memcpy(field + N - text.size(), text.data(), text.size());
}

}  // namespace cac::test
