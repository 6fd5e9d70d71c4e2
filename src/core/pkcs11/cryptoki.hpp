// The seam over a PKCS#11 function list.
//
// Every PKCS#11 call cactool makes goes through one method of `Cryptoki`. That gives one
// place to trace calls (name, arguments, result and duration, with PIN bytes masked), and
// lets unit tests hand in a function list of their own that returns whatever odd answer a
// real module has been seen to give. The methods return the CK_RV unchanged: deciding
// what a code means is the caller's job, because the same code is fatal in one place
// and expected in another (CKR_BUFFER_TOO_SMALL, CKR_CRYPTOKI_ALREADY_INITIALIZED).
#pragma once

#include <p11-kit/pkcs11.h>

#include <string>

#include "core/util/secret.hpp"

namespace cac {

// "CKR_PIN_INCORRECT" for a return value.
std::string ckr_name(CK_RV rv);
// "CKA_LABEL", or "CKA_0x00000123" for an attribute type without a name here.
std::string cka_name(CK_ATTRIBUTE_TYPE type);

// Throws Error(ErrorDomain::pkcs11, rv, operation) unless rv is CKR_OK.
void check_rv(CK_RV rv, const char* operation);

// A non-owning view of a module's function list. Copy it freely; the module that owns
// the list must outlive every copy.
class Cryptoki {
  public:
    Cryptoki() = default;
    explicit Cryptoki(CK_FUNCTION_LIST* functions) : fn_(functions) {}

    CK_FUNCTION_LIST* functions() const { return fn_; }
    explicit operator bool() const { return fn_ != nullptr; }

    CK_RV initialize(CK_C_INITIALIZE_ARGS* args) const;
    CK_RV finalize() const;
    CK_RV get_info(CK_INFO* info) const;
    CK_RV get_slot_list(bool token_present, CK_SLOT_ID* list, CK_ULONG* count) const;
    CK_RV get_slot_info(CK_SLOT_ID slot, CK_SLOT_INFO* info) const;
    CK_RV get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO* info) const;
    CK_RV get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE* list, CK_ULONG* count) const;
    CK_RV get_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                             CK_MECHANISM_INFO* info) const;
    CK_RV open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE* session) const;
    CK_RV close_session(CK_SESSION_HANDLE session) const;
    CK_RV get_session_info(CK_SESSION_HANDLE session, CK_SESSION_INFO* info) const;
    // A null `pin` logs in through the protected authentication path (PIN pad).
    CK_RV login(CK_SESSION_HANDLE session, CK_USER_TYPE user, const Secret* pin) const;
    CK_RV logout(CK_SESSION_HANDLE session) const;
    CK_RV find_objects_init(CK_SESSION_HANDLE session, CK_ATTRIBUTE* templ, CK_ULONG count) const;
    CK_RV find_objects(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE* objects, CK_ULONG max,
                       CK_ULONG* found) const;
    CK_RV find_objects_final(CK_SESSION_HANDLE session) const;
    CK_RV get_attribute_value(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                              CK_ATTRIBUTE* templ, CK_ULONG count) const;
    CK_RV sign_init(CK_SESSION_HANDLE session, CK_MECHANISM* mechanism, CK_OBJECT_HANDLE key) const;
    CK_RV sign(CK_SESSION_HANDLE session, const unsigned char* data, CK_ULONG data_len,
               unsigned char* signature, CK_ULONG* signature_len) const;

  private:
    CK_FUNCTION_LIST* fn_ = nullptr;
};

}  // namespace cac
