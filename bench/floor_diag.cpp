// The floor for `cactool diag`: the least work that gathers the facts diag checks, and the
// peer chain (opensc-tool --list-readers, pkcs11-tool --list-slots, pkcs11-tool
// --list-objects) shows, about one PKCS#11 module and the cards PC/SC sees.
//
//   floor_diag MODULE
//
// PC/SC: SCardEstablishContext (pcscd answers), SCardListReaders, one SCardGetStatusChange
// with no wait for every reader's state and ATR, and a shared SCardConnect to each card
// (what every module asks for). PKCS#11: dlopen, C_GetFunctionList, C_Initialize,
// C_GetInfo, every slot's C_GetSlotInfo and C_GetTokenInfo (label, PIN flags), and on each
// token one session: every certificate's CKA_ID and CKA_VALUE, parsed once with OpenSSL for
// its validity, and the private keys' CKA_IDs. One line a fact:
//   reader NAME present|empty ATR
//   module MANUFACTURER
//   slot ID DESCRIPTION
//   token ID LABEL flags 0x...
//   cert ID notAfter=... valid|invalid key|nokey
// No other modules loaded, no journal, no ATR identification, no reads of the card's
// containers over PC/SC, no chains, no text or JSON report: what diag spends beyond this
// is its features.
#include <dlfcn.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "floor_pcsc.hpp"

namespace {

using Bytes = std::vector<unsigned char>;

bool ok(CK_RV rv, const char* function) {
    if (rv != CKR_OK)
        std::fprintf(stderr, "%s failed: 0x%lx\n", function, static_cast<unsigned long>(rv));
    return rv == CKR_OK;
}

std::string_view padded(const CK_UTF8CHAR* text, std::size_t size) {
    std::string_view view(reinterpret_cast<const char*>(text), size);
    while (!view.empty() && view.back() == ' ')
        view.remove_suffix(1);
    return view;
}

std::string hex(const Bytes& bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string text;
    for (unsigned char byte : bytes) {
        text += digits[byte >> 4];
        text += digits[byte & 0xf];
    }
    return text;
}

// One attribute's bytes (size, then fill); empty when the object has none.
Bytes attribute(CK_FUNCTION_LIST* p11, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE object,
                CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE query = {type, nullptr, 0};
    if (p11->C_GetAttributeValue(s, object, &query, 1) != CKR_OK ||
        query.ulValueLen == CK_UNAVAILABLE_INFORMATION)
        return {};
    Bytes value(query.ulValueLen);
    query.pValue = value.data();
    if (p11->C_GetAttributeValue(s, object, &query, 1) != CKR_OK)
        return {};
    value.resize(query.ulValueLen);
    return value;
}

std::vector<CK_OBJECT_HANDLE> find(CK_FUNCTION_LIST* p11, CK_SESSION_HANDLE s,
                                   CK_OBJECT_CLASS object_class) {
    CK_ATTRIBUTE filter = {CKA_CLASS, &object_class, sizeof object_class};
    std::vector<CK_OBJECT_HANDLE> found;
    if (!ok(p11->C_FindObjectsInit(s, &filter, 1), "C_FindObjectsInit"))
        return found;
    CK_OBJECT_HANDLE batch[64];
    CK_ULONG got = 0;
    while (p11->C_FindObjects(s, batch, 64, &got) == CKR_OK && got > 0)
        found.insert(found.end(), batch, batch + got);
    p11->C_FindObjectsFinal(s);
    return found;
}

void readers() {
    SCARDCONTEXT context = 0;
    LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context);
    if (rv != SCARD_S_SUCCESS) {
        floor_pcsc::fail("SCardEstablishContext", rv);
        return;
    }
    const std::vector<std::string> names = floor_pcsc::list_readers(context);
    std::vector<SCARD_READERSTATE> states(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) {
        states[i].szReader = names[i].c_str();
        states[i].dwCurrentState = SCARD_STATE_UNAWARE;
    }
    if (!states.empty()) {
        rv = SCardGetStatusChange(context, 0, states.data(), DWORD(states.size()));
        if (rv != SCARD_S_SUCCESS)
            floor_pcsc::fail("SCardGetStatusChange", rv);
    }
    for (const SCARD_READERSTATE& state : states) {
        const bool present = state.dwEventState & SCARD_STATE_PRESENT;
        std::printf("reader %s %s ", state.szReader, present ? "present" : "empty");
        for (DWORD i = 0; present && i < state.cbAtr && i < MAX_ATR_SIZE; ++i)
            std::printf("%02x", state.rgbAtr[i]);
        if (present) {
            SCARDHANDLE card = 0;
            DWORD protocol = 0;
            rv = SCardConnect(context, state.szReader, SCARD_SHARE_SHARED,
                              SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol);
            std::printf(rv == SCARD_S_SUCCESS ? " shared" : " refused");
            if (rv == SCARD_S_SUCCESS)
                SCardDisconnect(card, SCARD_LEAVE_CARD);
        }
        std::printf("\n");
    }
    SCardReleaseContext(context);
}

// Every certificate on the token with its validity and whether a private key has its ID.
void objects(CK_FUNCTION_LIST* p11, CK_SLOT_ID slot) {
    CK_SESSION_HANDLE s = 0;
    if (!ok(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &s), "C_OpenSession"))
        return;
    std::vector<Bytes> key_ids;
    for (CK_OBJECT_HANDLE key : find(p11, s, CKO_PRIVATE_KEY))
        key_ids.push_back(attribute(p11, s, key, CKA_ID));
    for (CK_OBJECT_HANDLE cert : find(p11, s, CKO_CERTIFICATE)) {
        Bytes id = attribute(p11, s, cert, CKA_ID);
        Bytes der = attribute(p11, s, cert, CKA_VALUE);
        const unsigned char* cursor = der.data();
        X509* x509 = d2i_X509(nullptr, &cursor, long(der.size()));
        bool valid = x509 != nullptr && X509_cmp_current_time(X509_get0_notBefore(x509)) < 0 &&
                     X509_cmp_current_time(X509_get0_notAfter(x509)) > 0;
        bool key = std::find(key_ids.begin(), key_ids.end(), id) != key_ids.end();
        std::printf("cert %s %s %s\n", hex(id).c_str(), valid ? "valid" : "invalid",
                    key ? "key" : "nokey");
        X509_free(x509);
    }
    p11->C_CloseSession(s);
}

int tokens(const char* module_path) {
    void* handle = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        std::fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle, "C_GetFunctionList"));
    CK_FUNCTION_LIST* p11 = nullptr;
    if (get_list == nullptr || !ok(get_list(&p11), "C_GetFunctionList") ||
        !ok(p11->C_Initialize(nullptr), "C_Initialize"))
        return 1;
    CK_INFO info;
    if (ok(p11->C_GetInfo(&info), "C_GetInfo")) {
        std::string_view maker = padded(info.manufacturerID, sizeof info.manufacturerID);
        std::printf("module %.*s\n", int(maker.size()), maker.data());
    }
    CK_ULONG count = 0;
    std::vector<CK_SLOT_ID> slots;
    if (ok(p11->C_GetSlotList(CK_FALSE, nullptr, &count), "C_GetSlotList")) {
        slots.resize(count);
        if (!ok(p11->C_GetSlotList(CK_FALSE, slots.data(), &count), "C_GetSlotList"))
            count = 0;
        slots.resize(count);
    }
    for (CK_SLOT_ID slot : slots) {
        CK_SLOT_INFO slot_info;
        if (!ok(p11->C_GetSlotInfo(slot, &slot_info), "C_GetSlotInfo"))
            continue;
        std::string_view about =
            padded(slot_info.slotDescription, sizeof slot_info.slotDescription);
        std::printf("slot %lu %.*s\n", static_cast<unsigned long>(slot), int(about.size()),
                    about.data());
        CK_TOKEN_INFO token;
        if ((slot_info.flags & CKF_TOKEN_PRESENT) == 0 ||
            !ok(p11->C_GetTokenInfo(slot, &token), "C_GetTokenInfo"))
            continue;
        std::string_view label = padded(token.label, sizeof token.label);
        std::printf("token %lu %.*s flags 0x%lx\n", static_cast<unsigned long>(slot),
                    int(label.size()), label.data(), static_cast<unsigned long>(token.flags));
        objects(p11, slot);
    }
    p11->C_Finalize(nullptr);
    dlclose(handle);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: floor_diag MODULE\n");
        return 2;
    }
    readers();
    return tokens(argv[1]);
}
