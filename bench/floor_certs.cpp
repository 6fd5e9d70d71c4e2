// The floor for `cactool certs`: the least work that lists the certificates on a token.
//
//   floor_certs MODULE [TOKEN_LABEL]
//
// Loads the PKCS#11 module, finds every CKO_CERTIFICATE on the token (the one with
// TOKEN_LABEL, else the first token present), reads each CKA_VALUE, parses it once with
// OpenSSL and prints one line per certificate: subject, issuer, notBefore, notAfter and
// the SHA-256 fingerprint. No option parsing, no error taxonomy, no JSON, no URIs: what
// cactool spends beyond this is the cost of its features.
#include <dlfcn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cac::bench {
namespace {

void check(CK_RV rv, const char* function) {
    if (rv != CKR_OK) {
        char code[32];
        std::snprintf(code, sizeof code, "0x%lx", static_cast<unsigned long>(rv));
        throw std::runtime_error(std::string(function) + " failed: " + code);
    }
}

// dlopen + C_GetFunctionList + C_Initialize, undone in reverse on scope exit.
class LoadedModule {
  public:
    explicit LoadedModule(const char* path) {
        handle_ = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (handle_ == nullptr)
            throw std::runtime_error(std::string("dlopen: ") + dlerror());
        auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(handle_, "C_GetFunctionList"));
        if (get_list == nullptr)
            throw std::runtime_error("no C_GetFunctionList");
        check(get_list(&p11_), "C_GetFunctionList");
        check(p11_->C_Initialize(nullptr), "C_Initialize");
        initialized_ = true;
    }
    LoadedModule(const LoadedModule&) = delete;
    LoadedModule& operator=(const LoadedModule&) = delete;
    ~LoadedModule() {
        if (initialized_)
            p11_->C_Finalize(nullptr);
        if (handle_ != nullptr)
            dlclose(handle_);
    }

    CK_FUNCTION_LIST* operator->() const { return p11_; }

  private:
    void* handle_ = nullptr;
    CK_FUNCTION_LIST* p11_ = nullptr;
    bool initialized_ = false;
};

std::string_view padded(const CK_UTF8CHAR* text, std::size_t size) {
    std::string_view view(reinterpret_cast<const char*>(text), size);
    while (!view.empty() && view.back() == ' ')
        view.remove_suffix(1);
    return view;
}

CK_SLOT_ID find_slot(const LoadedModule& p11, std::string_view label) {
    CK_ULONG count = 0;
    check(p11->C_GetSlotList(CK_TRUE, nullptr, &count), "C_GetSlotList");
    std::vector<CK_SLOT_ID> slots(count);
    check(p11->C_GetSlotList(CK_TRUE, slots.data(), &count), "C_GetSlotList");
    for (CK_ULONG i = 0; i < count; ++i) {
        CK_TOKEN_INFO info;
        check(p11->C_GetTokenInfo(slots[i], &info), "C_GetTokenInfo");
        if (label.empty() || padded(info.label, sizeof info.label) == label)
            return slots[i];
    }
    throw std::runtime_error("no token matched");
}

std::vector<CK_OBJECT_HANDLE> find_certificates(const LoadedModule& p11, CK_SESSION_HANDLE s) {
    CK_OBJECT_CLASS cert_class = CKO_CERTIFICATE;
    CK_ATTRIBUTE filter = {CKA_CLASS, &cert_class, sizeof cert_class};
    check(p11->C_FindObjectsInit(s, &filter, 1), "C_FindObjectsInit");
    std::vector<CK_OBJECT_HANDLE> found;
    CK_OBJECT_HANDLE batch[64];
    CK_ULONG got = 0;
    do {
        check(p11->C_FindObjects(s, batch, 64, &got), "C_FindObjects");
        found.insert(found.end(), batch, batch + got);
    } while (got > 0);
    check(p11->C_FindObjectsFinal(s), "C_FindObjectsFinal");
    return found;
}

std::vector<unsigned char> read_value(const LoadedModule& p11, CK_SESSION_HANDLE s,
                                      CK_OBJECT_HANDLE object) {
    CK_ATTRIBUTE value = {CKA_VALUE, nullptr, 0};
    check(p11->C_GetAttributeValue(s, object, &value, 1), "C_GetAttributeValue");
    std::vector<unsigned char> der(value.ulValueLen);
    value.pValue = der.data();
    check(p11->C_GetAttributeValue(s, object, &value, 1), "C_GetAttributeValue");
    der.resize(value.ulValueLen);
    return der;
}

std::string name_text(const X509_NAME* name) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, std::size_t(size));
}

std::string time_text(const ASN1_TIME* time) {
    struct tm parts {};
    ASN1_TIME_to_tm(time, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return text;
}

std::string fingerprint(const X509* cert) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    X509_digest(cert, EVP_sha256(), digest, &size);
    static const char hex[] = "0123456789abcdef";
    std::string text;
    for (unsigned int i = 0; i < size; ++i) {
        text += hex[digest[i] >> 4];
        text += hex[digest[i] & 0xf];
    }
    return text;
}

void print_summary(const std::vector<unsigned char>& der) {
    const unsigned char* cursor = der.data();
    std::unique_ptr<X509, decltype(&X509_free)> cert(d2i_X509(nullptr, &cursor, long(der.size())),
                                                     X509_free);
    if (!cert) {
        std::printf("unparsable certificate\n");
        return;
    }
    std::printf("%s\t%s\t%s\t%s\t%s\n", name_text(X509_get_subject_name(cert.get())).c_str(),
                name_text(X509_get_issuer_name(cert.get())).c_str(),
                time_text(X509_get0_notBefore(cert.get())).c_str(),
                time_text(X509_get0_notAfter(cert.get())).c_str(), fingerprint(cert.get()).c_str());
}

int run(const char* module_path, std::string_view label) {
    LoadedModule p11(module_path);
    CK_SLOT_ID slot = find_slot(p11, label);
    CK_SESSION_HANDLE session = 0;
    check(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session),
          "C_OpenSession");
    for (CK_OBJECT_HANDLE object : find_certificates(p11, session)) {
        print_summary(read_value(p11, session, object));
    }
    check(p11->C_CloseSession(session), "C_CloseSession");
    return 0;
}

}  // namespace
}  // namespace cac::bench

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: floor_certs MODULE [TOKEN_LABEL]\n");
        return 2;
    }
    try {
        return cac::bench::run(argv[1], argc == 3 ? argv[2] : "");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "floor_certs: %s\n", e.what());
        return 1;
    }
}
