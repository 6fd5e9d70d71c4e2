// A PKCS#11 module for tests that forwards every call to a real module and injects the
// faults its configuration asks for: a chosen call fails with a chosen CKR_ (without
// reaching the real module, or after it answered), waits, or has its answer rewritten
// (token and slot text fields and flags, the slot list, attribute values of chosen
// objects). README.md in the folder above
// describes the configuration and the call log. Tests only; it is not installed.
//
// The module offers the PKCS#11 2.40 function list, through C_GetFunctionList and
// through the PKCS#11 3.0 C_GetInterface / C_GetInterfaceList as the one interface
// "PKCS 11" version 2.40: a client that prefers interfaces still calls through the
// module, and none is offered 3.0 functions the module would not see.
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <tuple>
#include <vector>

#include "rewrite.hpp"
#include "state.hpp"

namespace fault {
namespace {

// Run one call: wait and fail as decided, else let `answer` reach the real module
// (`answer(bool& rewritten)` says whether it changed the module's answer), and log it.
template <typename Answer>
CK_RV run(Function function, std::optional<CK_SLOT_ID> slot, Answer&& answer) {
    State& state = State::get();
    Decision decision;
    try {
        decision = state.decide(function, slot);
    } catch (const std::exception&) {
        return CKR_HOST_MEMORY;
    }
    if (decision.delay_ms > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(decision.delay_ms));
    if (decision.rv && decision.when == When::before) {
        state.record(function, decision.call, *decision.rv, "injected", decision.delay_ms);
        return *decision.rv;
    }
    bool rewritten = false;
    CK_RV rv = answer(rewritten);
    if (decision.rv) {
        state.record(function, decision.call, *decision.rv, "after", decision.delay_ms);
        return *decision.rv;
    }
    state.record(function, decision.call, rv, rewritten ? "rewritten" : "forwarded",
                 decision.delay_ms);
    return rv;
}

// The functions whose first argument is a slot ID (PKCS#11 v2.40 sections 5.5 and 5.6).
constexpr bool takes_slot(Function function) {
    switch (function) {
        case Function::C_GetSlotInfo:
        case Function::C_GetTokenInfo:
        case Function::C_GetMechanismList:
        case Function::C_GetMechanismInfo:
        case Function::C_InitToken:
        case Function::C_OpenSession:
        case Function::C_CloseAllSessions:
            return true;
        default:
            return false;
    }
}

template <Function F, auto Member>
struct Forward;

// The plain forwarder of one function: counted, faults applied, and for a slot that the
// configuration invented, "no token" without asking the real module.
template <Function F, typename... Args, CK_RV (*CK_FUNCTION_LIST::*Member)(Args...)>
struct Forward<F, Member> {
    static CK_RV call(Args... args) {
        std::optional<CK_SLOT_ID> slot;
        if constexpr (takes_slot(F))
            slot = std::get<0>(std::tie(args...));
        return run(F, slot, [&](bool& rewritten) {
            if (slot && is_added_slot(State::get().config()->slot_list, *slot)) {
                rewritten = true;
                return CKR_TOKEN_NOT_PRESENT;
            }
            return (State::get().real()->*Member)(args...);
        });
    }
};

CK_RV initialize(void* arguments) {
    State& state = State::get();
    // Re-read on each C_Initialize, so a test can change the faults between two runs
    // of a long-lived client.
    if (CK_RV rv = state.load(); rv != CKR_OK) {
        state.record(Function::C_Initialize, 0, rv, "config-error", 0);
        return rv;
    }
    return run(Function::C_Initialize, std::nullopt,
               [&](bool&) { return state.real()->C_Initialize(arguments); });
}

// The real module's whole slot list, asked the two-call way until it holds still.
CK_RV real_slot_list(CK_BBOOL token_present, std::vector<CK_SLOT_ID>& slots) {
    CK_FUNCTION_LIST* real = State::get().real();
    CK_RV rv = CKR_BUFFER_TOO_SMALL;
    for (int attempt = 0; attempt < 8 && rv == CKR_BUFFER_TOO_SMALL; ++attempt) {
        CK_ULONG count = 0;
        rv = real->C_GetSlotList(token_present, nullptr, &count);
        slots.assign(count, 0);
        if (rv == CKR_OK && count > 0)
            rv = real->C_GetSlotList(token_present, slots.data(), &count);
        slots.resize(std::min<std::size_t>(count, slots.size()));
    }
    return rv;
}

// Answer with `slots` as PKCS#11 v2.40 section 5.2 says, except that a growing list
// needs `extra` more entries than the list holds.
CK_RV answer_slot_list(const std::vector<CK_SLOT_ID>& slots, CK_ULONG extra, bool update_count,
                       CK_SLOT_ID* list, CK_ULONG* count) {
    if (list == nullptr) {
        *count = slots.size();
        return CKR_OK;
    }
    CK_ULONG needed = slots.size() + extra;
    if (*count < needed) {
        if (extra == 0 || update_count)
            *count = needed;
        return CKR_BUFFER_TOO_SMALL;
    }
    std::copy(slots.begin(), slots.end(), list);
    *count = slots.size();
    return CKR_OK;
}

bool changes_slot_list(const SlotListRewrite& rewrite) {
    return !rewrite.hide.empty() || !rewrite.add_empty.empty() || rewrite.reverse ||
           rewrite.grow_times > 0;
}

CK_RV rewritten_slot_list(const SlotListRewrite& rewrite, CK_BBOOL token_present, CK_SLOT_ID* list,
                          CK_ULONG* count) {
    std::vector<CK_SLOT_ID> slots;
    if (CK_RV rv = real_slot_list(token_present, slots); rv != CKR_OK)
        return rv;
    slots = rewrite_slot_list(rewrite, std::move(slots), token_present != CK_FALSE);
    bool growing = list != nullptr && State::get().next_slot_list_fill() <= rewrite.grow_times;
    return answer_slot_list(slots, growing ? rewrite.grow_by : 0, rewrite.grow_updates_count, list,
                            count);
}

CK_RV get_slot_list(CK_BBOOL token_present, CK_SLOT_ID* list, CK_ULONG* count) {
    return run(Function::C_GetSlotList, std::nullopt, [&](bool& rewritten) {
        const SlotListRewrite& rewrite = State::get().config()->slot_list;
        if (!changes_slot_list(rewrite) || count == nullptr)
            return State::get().real()->C_GetSlotList(token_present, list, count);
        rewritten = true;
        try {
            return rewritten_slot_list(rewrite, token_present, list, count);
        } catch (const std::exception&) {
            return CKR_HOST_MEMORY;
        }
    });
}

CK_RV get_slot_info(CK_SLOT_ID slot, CK_SLOT_INFO* info) {
    return run(Function::C_GetSlotInfo, slot, [&](bool& rewritten) {
        auto config = State::get().config();
        CK_RV rv = CKR_OK;
        if (is_added_slot(config->slot_list, slot) && info != nullptr) {
            fill_empty_slot_info(*info);
            rewritten = true;
        } else {
            rv = State::get().real()->C_GetSlotInfo(slot, info);
        }
        if (rv == CKR_OK && info != nullptr)
            rewritten = rewrite_slot_info(config->slot_info, slot, *info) || rewritten;
        return rv;
    });
}

CK_RV get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO* info) {
    return run(Function::C_GetTokenInfo, slot, [&](bool& rewritten) {
        auto config = State::get().config();
        if (is_added_slot(config->slot_list, slot)) {
            rewritten = true;
            return CKR_TOKEN_NOT_PRESENT;
        }
        CK_RV rv = State::get().real()->C_GetTokenInfo(slot, info);
        if (rv == CKR_OK && info != nullptr)
            rewritten = rewrite_token_info(config->token_info, slot, *info);
        return rv;
    });
}

// One attribute of an object as the real module gives it, asked the two-call way; empty
// when the object has none.
std::string real_attribute(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                           CK_ATTRIBUTE_TYPE type) {
    CK_FUNCTION_LIST* real = State::get().real();
    CK_ATTRIBUTE attribute{type, nullptr, 0};
    if (real->C_GetAttributeValue(session, object, &attribute, 1) != CKR_OK ||
        attribute.ulValueLen == CK_UNAVAILABLE_INFORMATION || attribute.ulValueLen > 1 << 20)
        return {};
    std::string value(attribute.ulValueLen, '\0');
    attribute.pValue = value.data();
    if (real->C_GetAttributeValue(session, object, &attribute, 1) != CKR_OK)
        return {};
    value.resize(std::min<std::size_t>(attribute.ulValueLen, value.size()));
    return value;
}

// The rewrites that apply to this object: those whose CKA_ID and class are its own.
std::vector<const AttributeRewrite*> rewrites_of(const std::vector<AttributeRewrite>& rewrites,
                                                 CK_SESSION_HANDLE session,
                                                 CK_OBJECT_HANDLE object) {
    std::vector<const AttributeRewrite*> found;
    if (rewrites.empty())
        return found;
    std::string id = real_attribute(session, object, CKA_ID);
    std::string class_bytes = real_attribute(session, object, CKA_CLASS);
    std::optional<CK_OBJECT_CLASS> object_class;
    if (class_bytes.size() == sizeof(CK_OBJECT_CLASS)) {
        CK_OBJECT_CLASS value = 0;
        std::memcpy(&value, class_bytes.data(), sizeof value);
        object_class = value;
    }
    for (const AttributeRewrite& rewrite : rewrites) {
        if (rewrite.id == id && (!rewrite.object_class || rewrite.object_class == object_class))
            found.push_back(&rewrite);
    }
    return found;
}

// Fill one attribute of the caller's template with `value` as PKCS#11 v2.40 section 5.7
// says; false when the caller's buffer is too small.
bool answer_attribute(CK_ATTRIBUTE& attribute, const std::string& value) {
    if (attribute.pValue == nullptr) {
        attribute.ulValueLen = value.size();
        return true;
    }
    if (attribute.ulValueLen < value.size()) {
        attribute.ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return false;
    }
    std::memcpy(attribute.pValue, value.data(), value.size());
    attribute.ulValueLen = value.size();
    return true;
}

// The attributes a rewrite covers are answered here; the others go to the real module in
// one call, whose answer (an error it gives, such as CKR_ATTRIBUTE_SENSITIVE) comes first.
CK_RV rewritten_attributes(const std::vector<const AttributeRewrite*>& rewrites,
                           CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                           CK_ATTRIBUTE* attributes, CK_ULONG count) {
    std::vector<CK_ATTRIBUTE> others;
    std::vector<CK_ULONG> positions;
    bool too_small = false;
    for (CK_ULONG i = 0; i < count; ++i) {
        auto rewrite = std::find_if(rewrites.begin(), rewrites.end(),
                                    [&](const auto* r) { return r->type == attributes[i].type; });
        if (rewrite == rewrites.end()) {
            others.push_back(attributes[i]);
            positions.push_back(i);
        } else {
            too_small = !answer_attribute(attributes[i], (*rewrite)->value) || too_small;
        }
    }
    CK_RV rv = CKR_OK;
    if (!others.empty()) {
        rv =
            State::get().real()->C_GetAttributeValue(session, object, others.data(), others.size());
        for (std::size_t i = 0; i < others.size(); ++i)
            attributes[positions[i]] = others[i];
    }
    return rv == CKR_OK && too_small ? CKR_BUFFER_TOO_SMALL : rv;
}

CK_RV get_attribute_value(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                          CK_ATTRIBUTE* attributes, CK_ULONG count) {
    return run(Function::C_GetAttributeValue, std::nullopt, [&](bool& rewritten) {
        auto config = State::get().config();
        if (config->attribute_values.empty() || attributes == nullptr)
            return State::get().real()->C_GetAttributeValue(session, object, attributes, count);
        try {
            auto rewrites = rewrites_of(config->attribute_values, session, object);
            if (rewrites.empty())
                return State::get().real()->C_GetAttributeValue(session, object, attributes, count);
            rewritten = true;
            return rewritten_attributes(rewrites, session, object, attributes, count);
        } catch (const std::exception&) {
            return CKR_HOST_MEMORY;
        }
    });
}

CK_RV get_function_list(CK_FUNCTION_LIST** list);

CK_FUNCTION_LIST make_function_list() {
    CK_FUNCTION_LIST functions{};
    functions.version = {2, 40};
#define FAULT_FORWARD(name) functions.name = Forward<Function::name, &CK_FUNCTION_LIST::name>::call;
    FAULT_LIST_FUNCTIONS(FAULT_FORWARD)
#undef FAULT_FORWARD
    functions.C_Initialize = initialize;
    functions.C_GetFunctionList = get_function_list;
    functions.C_GetSlotList = get_slot_list;
    functions.C_GetSlotInfo = get_slot_info;
    functions.C_GetTokenInfo = get_token_info;
    functions.C_GetAttributeValue = get_attribute_value;
    return functions;
}

CK_FUNCTION_LIST function_list = make_function_list();

// CK_INTERFACE of PKCS#11 3.0, which p11-kit's 2.40 header does not define.
struct Interface {
    CK_UTF8CHAR* name;
    void* functions;
    CK_FLAGS flags;
};

CK_UTF8CHAR interface_name[] = "PKCS 11";
Interface interface { interface_name, &function_list, 0 };

// Every entry point first needs the configuration, for the real module's path.
template <typename Answer>
CK_RV run_loaded(Function function, Answer&& answer) {
    if (CK_RV rv = State::get().load_once(); rv != CKR_OK) {
        State::get().record(function, 0, rv, "config-error", 0);
        return rv;
    }
    return run(function, std::nullopt, answer);
}

CK_RV get_function_list(CK_FUNCTION_LIST** list) {
    return run_loaded(Function::C_GetFunctionList, [&](bool&) {
        if (list == nullptr)
            return CKR_ARGUMENTS_BAD;
        *list = &function_list;
        return CKR_OK;
    });
}

CK_RV get_interface_list(Interface* list, CK_ULONG* count) {
    return run_loaded(Function::C_GetInterfaceList, [&](bool&) {
        if (count == nullptr)
            return CKR_ARGUMENTS_BAD;
        CK_ULONG room = *count;
        *count = 1;
        if (list == nullptr)
            return CKR_OK;
        if (room < 1)
            return CKR_BUFFER_TOO_SMALL;
        list[0] = interface;
        return CKR_OK;
    });
}

bool offers(const CK_UTF8CHAR* name, const CK_VERSION* version, CK_FLAGS flags) {
    if (name != nullptr && std::strcmp(reinterpret_cast<const char*>(name), "PKCS 11") != 0)
        return false;
    if (version != nullptr && (version->major != 2 || version->minor != 40))
        return false;
    return (flags & ~interface.flags) == 0;
}

CK_RV get_interface(CK_UTF8CHAR* name, CK_VERSION* version, Interface** found, CK_FLAGS flags) {
    return run_loaded(Function::C_GetInterface, [&](bool&) {
        if (found == nullptr || !offers(name, version, flags))
            return CKR_ARGUMENTS_BAD;
        *found = &interface;
        return CKR_OK;
    });
}

}  // namespace
}  // namespace fault

#define FAULT_EXPORT extern "C" __attribute__((visibility("default")))

FAULT_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST** list) {
    return fault::get_function_list(list);
}

FAULT_EXPORT CK_RV C_GetInterfaceList(fault::Interface* list, CK_ULONG* count) {
    return fault::get_interface_list(list, count);
}

FAULT_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR* name, CK_VERSION* version, fault::Interface** found,
                                  CK_FLAGS flags) {
    return fault::get_interface(name, version, found, flags);
}
