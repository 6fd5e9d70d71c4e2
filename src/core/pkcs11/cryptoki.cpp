#include "core/pkcs11/cryptoki.hpp"

#include <array>
#include <cstdio>
#include <utility>

#include "core/util/error.hpp"
#include "core/util/log.hpp"
#include "core/util/traced_call.hpp"

namespace cac {
namespace {

struct NamedType {
    CK_ATTRIBUTE_TYPE type;
    const char* name;
};

// The attributes cactool reads; anything else is traced by value.
constexpr std::array attribute_names = {
    NamedType{CKA_CLASS, "CKA_CLASS"},
    NamedType{CKA_TOKEN, "CKA_TOKEN"},
    NamedType{CKA_PRIVATE, "CKA_PRIVATE"},
    NamedType{CKA_LABEL, "CKA_LABEL"},
    NamedType{CKA_VALUE, "CKA_VALUE"},
    NamedType{CKA_CERTIFICATE_TYPE, "CKA_CERTIFICATE_TYPE"},
    NamedType{CKA_ISSUER, "CKA_ISSUER"},
    NamedType{CKA_SERIAL_NUMBER, "CKA_SERIAL_NUMBER"},
    NamedType{CKA_SUBJECT, "CKA_SUBJECT"},
    NamedType{CKA_KEY_TYPE, "CKA_KEY_TYPE"},
    NamedType{CKA_ID, "CKA_ID"},
    NamedType{CKA_SENSITIVE, "CKA_SENSITIVE"},
    NamedType{CKA_SIGN, "CKA_SIGN"},
    NamedType{CKA_DECRYPT, "CKA_DECRYPT"},
    NamedType{CKA_MODULUS, "CKA_MODULUS"},
    NamedType{CKA_MODULUS_BITS, "CKA_MODULUS_BITS"},
    NamedType{CKA_PUBLIC_EXPONENT, "CKA_PUBLIC_EXPONENT"},
    NamedType{CKA_EXTRACTABLE, "CKA_EXTRACTABLE"},
    NamedType{CKA_EC_PARAMS, "CKA_EC_PARAMS"},
    NamedType{CKA_EC_POINT, "CKA_EC_POINT"},
    NamedType{CKA_ALWAYS_AUTHENTICATE, "CKA_ALWAYS_AUTHENTICATE"},
};

std::string ulong_text(CK_ULONG value) {
    if (value == CK_UNAVAILABLE_INFORMATION)
        return "UNAVAILABLE";
    return std::to_string(value);
}

std::string hex_text(CK_ULONG value) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%lx", static_cast<unsigned long>(value));
    return text;
}

std::string out_text(const CK_ULONG* value) {
    return value == nullptr ? std::string("NULL") : ulong_text(*value);
}

std::string user_text(CK_USER_TYPE user) {
    switch (user) {
        case CKU_USER:
            return "CKU_USER";
        case CKU_SO:
            return "CKU_SO";
        case CKU_CONTEXT_SPECIFIC:
            return "CKU_CONTEXT_SPECIFIC";
        default:
            return hex_text(user);
    }
}

std::string template_text(const CK_ATTRIBUTE* templ, CK_ULONG count) {
    std::string text = "[";
    for (CK_ULONG i = 0; i < count && templ != nullptr; ++i) {
        text += i == 0 ? "" : ", ";
        text += cka_name(templ[i].type) + " len=" + ulong_text(templ[i].ulValueLen);
    }
    return text + "]";
}

// A call traced under "pkcs11", its result spelled by ckr_name().
class Traced {
  public:
    explicit Traced(const char* name) : call_("pkcs11", name) {}

    template <typename Describe>
    CK_RV done(CK_RV rv, Describe&& describe) const {
        return call_.done(
            rv, [](auto code) { return ckr_name(code); }, describe);
    }

  private:
    log::TracedCall call_;
};

// A module's list may leave entries it does not implement empty.
template <typename Fn, typename... Args>
CK_RV invoke(Fn fn, Args... args) {
    return fn == nullptr ? CKR_FUNCTION_NOT_SUPPORTED : fn(args...);
}

}  // namespace

std::string ckr_name(CK_RV rv) {
    return code_name(ErrorDomain::pkcs11, std::uint32_t(rv));
}

std::string cka_name(CK_ATTRIBUTE_TYPE type) {
    for (const auto& entry : attribute_names) {
        if (entry.type == type)
            return entry.name;
    }
    char text[32];
    std::snprintf(text, sizeof text, "CKA_0x%08lx", static_cast<unsigned long>(type));
    return text;
}

void check_rv(CK_RV rv, const char* operation) {
    if (rv != CKR_OK)
        throw Error(ErrorDomain::pkcs11, std::uint32_t(rv), operation);
}

CK_RV Cryptoki::initialize(CK_C_INITIALIZE_ARGS* args) const {
    Traced call("C_Initialize");
    CK_RV rv = invoke(fn_->C_Initialize, static_cast<void*>(args));
    return call.done(rv, [&] {
        return args == nullptr ? std::string("NULL") : "flags=" + hex_text(args->flags);
    });
}

CK_RV Cryptoki::finalize() const {
    Traced call("C_Finalize");
    CK_RV rv = invoke(fn_->C_Finalize, static_cast<void*>(nullptr));
    return call.done(rv, [] { return std::string("NULL"); });
}

CK_RV Cryptoki::get_info(CK_INFO* info) const {
    Traced call("C_GetInfo");
    CK_RV rv = invoke(fn_->C_GetInfo, info);
    return call.done(rv, [] { return std::string(); });
}

CK_RV Cryptoki::get_slot_list(bool token_present, CK_SLOT_ID* list, CK_ULONG* count) const {
    Traced call("C_GetSlotList");
    CK_RV rv =
        invoke(fn_->C_GetSlotList, CK_BBOOL(token_present ? CK_TRUE : CK_FALSE), list, count);
    return call.done(rv, [&] {
        return std::string("token_present=") + (token_present ? "true" : "false") +
               ", list=" + (list == nullptr ? "NULL" : "buffer") + ", count=" + out_text(count);
    });
}

CK_RV Cryptoki::get_slot_info(CK_SLOT_ID slot, CK_SLOT_INFO* info) const {
    Traced call("C_GetSlotInfo");
    CK_RV rv = invoke(fn_->C_GetSlotInfo, slot, info);
    return call.done(rv, [&] { return "slot=" + std::to_string(slot); });
}

CK_RV Cryptoki::get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO* info) const {
    Traced call("C_GetTokenInfo");
    CK_RV rv = invoke(fn_->C_GetTokenInfo, slot, info);
    return call.done(rv, [&] { return "slot=" + std::to_string(slot); });
}

CK_RV Cryptoki::get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE* list,
                                   CK_ULONG* count) const {
    Traced call("C_GetMechanismList");
    CK_RV rv = invoke(fn_->C_GetMechanismList, slot, list, count);
    return call.done(rv, [&] {
        return "slot=" + std::to_string(slot) + ", list=" + (list == nullptr ? "NULL" : "buffer") +
               ", count=" + out_text(count);
    });
}

CK_RV Cryptoki::get_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                                   CK_MECHANISM_INFO* info) const {
    Traced call("C_GetMechanismInfo");
    CK_RV rv = invoke(fn_->C_GetMechanismInfo, slot, type, info);
    return call.done(rv,
                     [&] { return "slot=" + std::to_string(slot) + ", type=" + hex_text(type); });
}

CK_RV Cryptoki::open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE* session) const {
    Traced call("C_OpenSession");
    CK_RV rv =
        invoke(fn_->C_OpenSession, slot, flags, static_cast<void*>(nullptr), CK_NOTIFY(), session);
    return call.done(rv, [&] {
        return "slot=" + std::to_string(slot) + ", flags=" + hex_text(flags) +
               ", session=" + out_text(session);
    });
}

CK_RV Cryptoki::close_session(CK_SESSION_HANDLE session) const {
    Traced call("C_CloseSession");
    CK_RV rv = invoke(fn_->C_CloseSession, session);
    return call.done(rv, [&] { return "session=" + std::to_string(session); });
}

CK_RV Cryptoki::get_session_info(CK_SESSION_HANDLE session, CK_SESSION_INFO* info) const {
    Traced call("C_GetSessionInfo");
    CK_RV rv = invoke(fn_->C_GetSessionInfo, session, info);
    return call.done(rv, [&] { return "session=" + std::to_string(session); });
}

CK_RV Cryptoki::login(CK_SESSION_HANDLE session, CK_USER_TYPE user, const Secret* pin) const {
    Traced call("C_Login");
    // The module's prototype is not const-correct; it does not write the PIN.
    auto* bytes = pin == nullptr ? nullptr : const_cast<CK_UTF8CHAR*>(pin->data());
    CK_ULONG length = pin == nullptr ? 0 : CK_ULONG(pin->size());
    CK_RV rv = invoke(fn_->C_Login, session, user, bytes, length);
    return call.done(rv, [&] {
        // Not even the length: PIV PINs are 6 to 8 digits, so it would narrow a guess.
        std::string masked =
            pin == nullptr ? std::string("NULL (protected authentication path)") : "<masked>";
        return "session=" + std::to_string(session) + ", user=" + user_text(user) +
               ", pin=" + masked;
    });
}

CK_RV Cryptoki::logout(CK_SESSION_HANDLE session) const {
    Traced call("C_Logout");
    CK_RV rv = invoke(fn_->C_Logout, session);
    return call.done(rv, [&] { return "session=" + std::to_string(session); });
}

CK_RV Cryptoki::find_objects_init(CK_SESSION_HANDLE session, CK_ATTRIBUTE* templ,
                                  CK_ULONG count) const {
    Traced call("C_FindObjectsInit");
    CK_RV rv = invoke(fn_->C_FindObjectsInit, session, templ, count);
    return call.done(rv, [&] {
        return "session=" + std::to_string(session) + ", template=" + template_text(templ, count);
    });
}

CK_RV Cryptoki::find_objects(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE* objects, CK_ULONG max,
                             CK_ULONG* found) const {
    Traced call("C_FindObjects");
    CK_RV rv = invoke(fn_->C_FindObjects, session, objects, max, found);
    return call.done(rv, [&] {
        return "session=" + std::to_string(session) + ", max=" + std::to_string(max) +
               ", found=" + out_text(found);
    });
}

CK_RV Cryptoki::find_objects_final(CK_SESSION_HANDLE session) const {
    Traced call("C_FindObjectsFinal");
    CK_RV rv = invoke(fn_->C_FindObjectsFinal, session);
    return call.done(rv, [&] { return "session=" + std::to_string(session); });
}

CK_RV Cryptoki::get_attribute_value(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                                    CK_ATTRIBUTE* templ, CK_ULONG count) const {
    Traced call("C_GetAttributeValue");
    CK_RV rv = invoke(fn_->C_GetAttributeValue, session, object, templ, count);
    return call.done(rv, [&] {
        return "session=" + std::to_string(session) + ", object=" + std::to_string(object) +
               ", template=" + template_text(templ, count);
    });
}

CK_RV Cryptoki::sign_init(CK_SESSION_HANDLE session, CK_MECHANISM* mechanism,
                          CK_OBJECT_HANDLE key) const {
    Traced call("C_SignInit");
    CK_RV rv = invoke(fn_->C_SignInit, session, mechanism, key);
    return call.done(rv, [&] {
        return "session=" + std::to_string(session) + ", mechanism=" +
               (mechanism == nullptr ? std::string("NULL") : hex_text(mechanism->mechanism)) +
               ", key=" + std::to_string(key);
    });
}

CK_RV Cryptoki::sign(CK_SESSION_HANDLE session, const unsigned char* data, CK_ULONG data_len,
                     unsigned char* signature, CK_ULONG* signature_len) const {
    Traced call("C_Sign");
    CK_RV rv = invoke(fn_->C_Sign, session, const_cast<unsigned char*>(data), data_len, signature,
                      signature_len);
    return call.done(rv, [&] {
        return "session=" + std::to_string(session) + ", data_len=" + std::to_string(data_len) +
               ", signature=" + (signature == nullptr ? "NULL" : "buffer") +
               ", signature_len=" + out_text(signature_len);
    });
}

}  // namespace cac
