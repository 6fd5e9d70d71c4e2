#include "core/x509/bundle.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <climits>
#include <cstring>
#include <string>
#include <string_view>

#include "core/util/error.hpp"
#include "core/x509/openssl.hpp"

namespace cac {
namespace {

[[noreturn]] void fail(std::string reason) {
    throw Error(CoreCode::certificate_invalid, "read certificates", std::move(reason));
}

void append(std::vector<Bytes>& out, Bytes der) {
    if (out.size() >= kMaxBundleCertificates) {
        fail("more than " + std::to_string(kMaxBundleCertificates) + " certificates");
    }
    out.push_back(std::move(der));
}

// One DER certificate at the start of `body`. Trust settings may follow it in a TRUSTED
// CERTIFICATE block; anywhere else extra bytes mean damage.
Bytes certificate_der(std::span<const std::uint8_t> body, bool allow_trailing, std::size_t number) {
    const unsigned char* cursor = body.data();
    ossl::X509Ptr cert(d2i_X509(nullptr, &cursor, static_cast<long>(body.size())));
    const std::string which = "certificate " + std::to_string(number) + ": ";
    if (!cert) {
        fail(which + ossl::take_error("not a DER certificate"));
    }
    if (!allow_trailing && cursor != body.data() + body.size()) {
        fail(which + "extra bytes after the certificate");
    }
    return Bytes(body.data(), cursor);
}

// False when `body` is not a PKCS#7 structure at all.
bool append_pkcs7(std::span<const std::uint8_t> body, std::vector<Bytes>& out) {
    const unsigned char* cursor = body.data();
    ossl::Pkcs7Ptr bundle(d2i_PKCS7(nullptr, &cursor, static_cast<long>(body.size())));
    if (!bundle) {
        return false;
    }
    STACK_OF(X509)* certs = nullptr;
    if (PKCS7_type_is_signed(bundle.get()) && bundle->d.sign) {
        certs = bundle->d.sign->cert;
    } else if (PKCS7_type_is_signedAndEnveloped(bundle.get()) && bundle->d.signed_and_enveloped) {
        certs = bundle->d.signed_and_enveloped->cert;
    }
    const int count = certs ? sk_X509_num(certs) : 0;
    for (int i = 0; i < count; ++i) {
        append(out, ossl::encode_der(sk_X509_value(certs, i)));
    }
    return true;
}

void append_pem_block(std::string_view name, std::span<const std::uint8_t> body,
                      std::vector<Bytes>& out) {
    const std::size_t number = out.size() + 1;
    if (name == PEM_STRING_X509 || name == PEM_STRING_X509_OLD) {
        append(out, certificate_der(body, false, number));
    } else if (name == PEM_STRING_X509_TRUSTED) {
        append(out, certificate_der(body, true, number));
    } else if (name == PEM_STRING_PKCS7) {
        if (!append_pkcs7(body, out)) {
            fail("PKCS7 block: " + ossl::take_error("not a PKCS#7 structure"));
        }
    }
}

// False when the data holds no PEM block at all.
bool append_pem(std::span<const std::uint8_t> data, std::vector<Bytes>& out) {
    ossl::BioPtr bio = ossl::memory_bio(data);
    for (std::size_t blocks = 0;; ++blocks) {
        char* name = nullptr;
        char* header = nullptr;
        unsigned char* body = nullptr;
        long length = 0;
        const int ok = PEM_read_bio(bio.get(), &name, &header, &body, &length);
        ossl::OpenSslString owned_name(name);
        ossl::OpenSslString owned_header(header);
        ossl::OpenSslBytes owned_body(body);
        if (!ok) {
            const unsigned long code = ERR_peek_last_error();
            if (ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE) {
                ERR_clear_error();
                return blocks > 0;
            }
            fail("PEM block " + std::to_string(blocks + 1) + ": " +
                 ossl::take_error("damaged block"));
        }
        append_pem_block(name, std::span(body, static_cast<std::size_t>(length)), out);
    }
}

void append_der(std::span<const std::uint8_t> data, std::vector<Bytes>& out) {
    bool trailing = false;
    ossl::X509Ptr cert = ossl::parse_der(data, &trailing);
    if (cert) {
        append(out, Bytes(data.begin(), data.end()));
        return;
    }
    const std::string reason =
        trailing ? "extra bytes after the certificate" : ossl::take_error("not a DER certificate");
    if (!append_pkcs7(data, out)) {
        ERR_clear_error();
        fail("neither PEM, a DER certificate nor a PKCS#7 bundle: " + reason);
    }
}

bool looks_like_pem(std::span<const std::uint8_t> data) {
    std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    return text.find("-----BEGIN ") != std::string_view::npos;
}

}  // namespace

std::vector<Bytes> decode_certificates(std::span<const std::uint8_t> data) {
    if (data.empty()) {
        fail("no data");
    }
    if (data.size() > kMaxBundleSize) {
        fail("too large: " + std::to_string(data.size()) + " bytes, the limit is " +
             std::to_string(kMaxBundleSize));
    }
    ERR_clear_error();
    std::vector<Bytes> out;
    // DER can hold the PEM marker inside a string, so a failed PEM reading falls back.
    if (looks_like_pem(data) && append_pem(data, out)) {
        if (out.empty()) {
            fail("no certificate among the PEM blocks");
        }
        return out;
    }
    append_der(data, out);
    if (out.empty()) {
        fail("the PKCS#7 bundle holds no certificate");
    }
    return out;
}

}  // namespace cac
