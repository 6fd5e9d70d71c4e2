#include "core/x509/openssl.hpp"

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/provider.h>

#include <climits>
#include <new>

#include "core/util/text.hpp"

namespace cac::ossl {
namespace {

// What the x509 unit keeps for the life of the process, made on first use (a
// function-local static, so threads that race to it still make it once).
class ProcessState {
  public:
    ProcessState() {
        make_keyless_context();
        // NULL only without a default provider; sha256() callers then take EVP_sha256().
        sha256_ = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
        ERR_clear_error();
    }
    ~ProcessState() {
        EVP_MD_free(sha256_);
        if (null_provider_ != nullptr) {
            OSSL_PROVIDER_unload(null_provider_);
        }
        OSSL_LIB_CTX_free(keyless_);
    }
    ProcessState(const ProcessState&) = delete;
    ProcessState& operator=(const ProcessState&) = delete;

    OSSL_LIB_CTX* keyless() const { return keyless_; }
    const EVP_MD* sha256() const { return sha256_; }

  private:
    // A library context whose only provider is "null", which offers no algorithm: a
    // certificate parsed in it finds no decoder for its key and leaves the key undecoded.
    // Loading "null" explicitly matters, as a context with no provider loaded would load
    // the default one on first use. Should any of it fail, keyless_ stays nullptr, the
    // default context: slower, and still correct.
    void make_keyless_context() {
        keyless_ = OSSL_LIB_CTX_new();
        null_provider_ = keyless_ ? OSSL_PROVIDER_load(keyless_, "null") : nullptr;
        if (null_provider_ == nullptr) {
            OSSL_LIB_CTX_free(keyless_);
            keyless_ = nullptr;
        }
    }

    OSSL_LIB_CTX* keyless_ = nullptr;
    OSSL_PROVIDER* null_provider_ = nullptr;
    EVP_MD* sha256_ = nullptr;
};

const ProcessState& process_state() {
    static const ProcessState state;
    return state;
}

// ASN1_item_d2i_ex takes the library context as it is; d2i_X509 would need the
// certificate made beforehand with X509_new_ex to carry one.
X509Ptr parse_in(std::span<const std::uint8_t> der, bool* trailing, OSSL_LIB_CTX* context) {
    if (trailing) {
        *trailing = false;
    }
    if (der.empty() || der.size() > LONG_MAX) {
        return nullptr;
    }
    const unsigned char* cursor = der.data();
    X509Ptr cert(reinterpret_cast<X509*>(ASN1_item_d2i_ex(
        nullptr, &cursor, static_cast<long>(der.size()), ASN1_ITEM_rptr(X509), context, nullptr)));
    if (cert && cursor != der.data() + der.size()) {
        if (trailing) {
            *trailing = true;
        }
        return nullptr;
    }
    return cert;
}

}  // namespace

X509StackPtr new_x509_stack() {
    X509StackPtr stack(sk_X509_new_null());
    if (!stack) {
        throw std::bad_alloc();
    }
    return stack;
}

BioPtr memory_bio(std::span<const std::uint8_t> bytes) {
    // Callers bound their input far below INT_MAX; the check keeps the cast honest.
    if (bytes.size() > INT_MAX) {
        throw std::bad_alloc();
    }
    BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    if (!bio) {
        throw std::bad_alloc();
    }
    return bio;
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    if (size <= 0 || data == nullptr) {
        return {};
    }
    return std::string(data, static_cast<std::size_t>(size));
}

std::string take_error(std::string_view fallback) {
    unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) {
        return std::string(fallback);
    }
    const char* reason = ERR_reason_error_string(code);
    const char* library = ERR_lib_error_string(code);
    std::string text = reason ? reason : "error " + std::to_string(ERR_GET_REASON(code));
    if (library) {
        text = std::string(library) + ": " + text;
    }
    return text;
}

X509Ptr parse_der(std::span<const std::uint8_t> der, bool* trailing) {
    return parse_in(der, trailing, nullptr);
}

X509Ptr parse_der_keyless(std::span<const std::uint8_t> der, bool* trailing) {
    return parse_in(der, trailing, process_state().keyless());
}

const EVP_MD* sha256() {
    return process_state().sha256();
}

Bytes encode_der(X509* cert) {
    int size = i2d_X509(cert, nullptr);
    if (size <= 0) {
        return {};
    }
    Bytes der(static_cast<std::size_t>(size));
    unsigned char* cursor = der.data();
    i2d_X509(cert, &cursor);
    return der;
}

std::string oid_text(const ASN1_OBJECT* object) {
    const int length = OBJ_obj2txt(nullptr, 0, object, 1);
    if (length <= 0) {
        return "unknown";
    }
    std::string text(static_cast<std::size_t>(length) + 1, '\0');
    OBJ_obj2txt(text.data(), length + 1, object, 1);
    text.resize(static_cast<std::size_t>(length));
    return text;
}

std::string name_text(const X509_NAME* name) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio) {
        throw std::bad_alloc();
    }
    // RFC 2253 escaping, but bytes above 0x7f stay UTF-8 instead of becoming \XX escapes:
    // the JSON output is UTF-8 and a reader wants to see the name as written.
    unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
    if (X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) {
        ERR_clear_error();
        return {};
    }
    return sanitize_utf8(bio_text(bio.get()));
}

}  // namespace cac::ossl
