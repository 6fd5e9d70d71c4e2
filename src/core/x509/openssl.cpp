#include "core/x509/openssl.hpp"

#include <openssl/err.h>

#include <climits>
#include <new>

#include "core/util/text.hpp"

namespace cac::ossl {

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
    if (trailing) {
        *trailing = false;
    }
    if (der.empty() || der.size() > LONG_MAX) {
        return nullptr;
    }
    const unsigned char* cursor = der.data();
    X509Ptr cert(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
    if (cert && cursor != der.data() + der.size()) {
        if (trailing) {
            *trailing = true;
        }
        return nullptr;
    }
    return cert;
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
