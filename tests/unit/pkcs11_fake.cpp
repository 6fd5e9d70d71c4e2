#include "pkcs11_fake.hpp"

#include <algorithm>
#include <cassert>

namespace cac::test {
namespace {

FakeModule* active = nullptr;

FakeModule& fake(const char* name) {
    FakeModule& module = FakeModule::current();
    module.calls.emplace_back(name);
    return module;
}

CK_RV no_function() {
    return CKR_FUNCTION_NOT_SUPPORTED;
}

// Answers one template entry as the standard says; returns the entry's own code.
CK_RV answer(const FakeAttribute* attribute, CK_ATTRIBUTE& entry) {
    if (attribute == nullptr) {
        entry.ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
    if (attribute->error != CKR_OK || attribute->unavailable) {
        entry.ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return attribute->error;
    }
    CK_ULONG size = CK_ULONG(attribute->value.size());
    if (entry.pValue == nullptr) {
        entry.ulValueLen = attribute->claimed_length != 0 ? attribute->claimed_length : size;
        return CKR_OK;
    }
    if (entry.ulValueLen < size) {
        entry.ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_BUFFER_TOO_SMALL;
    }
    std::memcpy(entry.pValue, attribute->value.data(), size);
    entry.ulValueLen = size;
    return CKR_OK;
}

CK_RV get_attribute_value(CK_SESSION_HANDLE, CK_OBJECT_HANDLE object, CK_ATTRIBUTE* templ,
                          CK_ULONG count) {
    FakeModule& module = fake("C_GetAttributeValue");
    module.get_attribute_counts.push_back(count);
    auto found = module.attributes.find(object);
    if (found == module.attributes.end())
        return CKR_OBJECT_HANDLE_INVALID;
    if (module.batch_style == BatchStyle::single_only && count > 1)
        return CKR_FUNCTION_FAILED;
    CK_RV result = CKR_OK;
    for (CK_ULONG i = 0; i < count; ++i) {
        auto attribute = found->second.find(templ[i].type);
        CK_RV rv =
            answer(attribute == found->second.end() ? nullptr : &attribute->second, templ[i]);
        if (rv == CKR_OK)
            continue;
        result = rv;
        if (module.batch_style == BatchStyle::stop_early)
            return rv;
    }
    return result;
}

CK_RV find_objects(CK_SESSION_HANDLE, CK_OBJECT_HANDLE* out, CK_ULONG max, CK_ULONG* found) {
    FakeModule& module = fake("C_FindObjects");
    if (module.find_objects_rv != CKR_OK)
        return module.find_objects_rv;
    std::size_t left = module.objects.size() - module.found_so_far;
    std::size_t n = std::min<std::size_t>(left, max);
    std::copy_n(module.objects.begin() + long(module.found_so_far), n, out);
    module.found_so_far += n;
    *found = CK_ULONG(n);
    return CKR_OK;
}

}  // namespace

FakeModule::FakeModule() {
    assert(active == nullptr);
    active = this;
    list.version = {2, 40};
    list.C_Initialize = [](CK_VOID_PTR args) { return fake("C_Initialize").initialize(args); };
    list.C_Finalize = [](CK_VOID_PTR) { return fake("C_Finalize").finalize(); };
    list.C_GetInfo = [](CK_INFO* info) { return fake("C_GetInfo").get_info(info); };
    list.C_GetSlotList = [](CK_BBOOL present, CK_SLOT_ID* slots, CK_ULONG* count) {
        FakeModule& module = fake("C_GetSlotList");
        return module.get_slot_list ? module.get_slot_list(present, slots, count) : no_function();
    };
    list.C_GetSlotInfo = [](CK_SLOT_ID slot, CK_SLOT_INFO* info) {
        FakeModule& module = fake("C_GetSlotInfo");
        return module.get_slot_info ? module.get_slot_info(slot, info) : no_function();
    };
    list.C_GetTokenInfo = [](CK_SLOT_ID slot, CK_TOKEN_INFO* info) {
        FakeModule& module = fake("C_GetTokenInfo");
        return module.get_token_info ? module.get_token_info(slot, info) : no_function();
    };
    list.C_GetMechanismList = [](CK_SLOT_ID slot, CK_MECHANISM_TYPE* types, CK_ULONG* count) {
        FakeModule& module = fake("C_GetMechanismList");
        return module.get_mechanism_list ? module.get_mechanism_list(slot, types, count)
                                         : no_function();
    };
    list.C_GetMechanismInfo = [](CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO* info) {
        FakeModule& module = fake("C_GetMechanismInfo");
        return module.get_mechanism_info ? module.get_mechanism_info(slot, type, info)
                                         : no_function();
    };
    list.C_OpenSession = [](CK_SLOT_ID, CK_FLAGS, CK_VOID_PTR, CK_NOTIFY,
                            CK_SESSION_HANDLE* session) {
        FakeModule& module = fake("C_OpenSession");
        *session = 7;
        return module.open_session_rv;
    };
    list.C_CloseSession = [](CK_SESSION_HANDLE) {
        fake("C_CloseSession");
        return CKR_OK;
    };
    list.C_GetSessionInfo = [](CK_SESSION_HANDLE, CK_SESSION_INFO* info) {
        fake("C_GetSessionInfo");
        info->state = CKS_RO_PUBLIC_SESSION;
        return CKR_OK;
    };
    list.C_Login = [](CK_SESSION_HANDLE, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
        return fake("C_Login").login(user, pin, len);
    };
    list.C_Logout = [](CK_SESSION_HANDLE) { return fake("C_Logout").logout(); };
    list.C_FindObjectsInit = [](CK_SESSION_HANDLE, CK_ATTRIBUTE*, CK_ULONG) {
        FakeModule& module = fake("C_FindObjectsInit");
        module.found_so_far = 0;
        return module.find_objects_init_rv;
    };
    list.C_FindObjects = find_objects;
    list.C_FindObjectsFinal = [](CK_SESSION_HANDLE) {
        fake("C_FindObjectsFinal");
        return CKR_OK;
    };
    list.C_GetAttributeValue = get_attribute_value;
}

FakeModule::~FakeModule() {
    active = nullptr;
}

FakeModule& FakeModule::current() {
    assert(active != nullptr);
    return *active;
}

int FakeModule::count(const std::string& name) const {
    return int(std::count(calls.begin(), calls.end(), name));
}

}  // namespace cac::test
