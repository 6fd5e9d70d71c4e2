// A PKCS#11 module for tests that forwards to a real one and changes what it reports.
//
// Real modules show behaviour that SoftHSM2 never does: a PIN at its final try, token
// labels padded on the left or with NULs. This shim loads the module named by
// CACTOOL_SHIM_MODULE, forwards every call to it, and rewrites C_GetTokenInfo's answer
// as the environment says:
//   CACTOOL_SHIM_SET_TOKEN_FLAGS    hex bits ORed into CK_TOKEN_INFO.flags
//   CACTOOL_SHIM_CLEAR_TOKEN_FLAGS  hex bits cleared from it
//   CACTOOL_SHIM_LABEL_PADDING      "left" or "nul": the label re-padded that way
//   CACTOOL_SHIM_FAIL_TOKEN_INFO    "SLOT:RV" (decimal slot id, hex CK_RV): that slot's
//                                   C_GetTokenInfo fails with RV, as a module does for a
//                                   card it cannot read
// Tests only; it is not installed.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

CK_FUNCTION_LIST* real = nullptr;
CK_FUNCTION_LIST shim;

CK_FLAGS flags_from(const char* variable) {
    const char* value = std::getenv(variable);
    return value == nullptr ? 0 : std::strtoul(value, nullptr, 16);
}

void repad_label(unsigned char (&label)[32], std::string_view how) {
    unsigned char* end = label + sizeof label;
    unsigned char* last =
        std::find_if(std::make_reverse_iterator(end), std::make_reverse_iterator(label),
                     [](unsigned char c) { return c != ' '; })
            .base();
    std::size_t length = std::size_t(last - label);
    if (how == "left") {
        std::memmove(end - length, label, length);
        std::memset(label, ' ', sizeof label - length);
    } else if (how == "nul") {
        std::memset(last, 0, std::size_t(end - last));
    }
}

// The CK_RV CACTOOL_SHIM_FAIL_TOKEN_INFO asks for on `slot`, or CKR_OK.
CK_RV injected_failure(CK_SLOT_ID slot) {
    const char* value = std::getenv("CACTOOL_SHIM_FAIL_TOKEN_INFO");
    if (value == nullptr)
        return CKR_OK;
    char* rest = nullptr;
    unsigned long wanted = std::strtoul(value, &rest, 10);
    if (rest == nullptr || *rest != ':' || wanted != slot)
        return CKR_OK;
    return std::strtoul(rest + 1, nullptr, 16);
}

CK_RV get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO* info) {
    if (CK_RV failure = injected_failure(slot); failure != CKR_OK)
        return failure;
    CK_RV rv = real->C_GetTokenInfo(slot, info);
    if (rv != CKR_OK || info == nullptr)
        return rv;
    info->flags |= flags_from("CACTOOL_SHIM_SET_TOKEN_FLAGS");
    info->flags &= ~flags_from("CACTOOL_SHIM_CLEAR_TOKEN_FLAGS");
    if (const char* how = std::getenv("CACTOOL_SHIM_LABEL_PADDING"))
        repad_label(info->label, how);
    return rv;
}

CK_RV load_real() {
    const char* path = std::getenv("CACTOOL_SHIM_MODULE");
    if (path == nullptr)
        return CKR_GENERAL_ERROR;
    void* library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr)
        return CKR_GENERAL_ERROR;
    auto get = reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
    if (get == nullptr)
        return CKR_GENERAL_ERROR;
    return get(&real);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST** list) {
    if (list == nullptr)
        return CKR_ARGUMENTS_BAD;
    if (real == nullptr) {
        CK_RV rv = load_real();
        if (rv != CKR_OK)
            return rv;
        shim = *real;
        shim.C_GetTokenInfo = get_token_info;
    }
    *list = &shim;
    return CKR_OK;
}
