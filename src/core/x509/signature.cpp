#include "core/x509/signature.hpp"

#include <openssl/ecdsa.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <new>

#include "core/util/error.hpp"
#include "core/x509/openssl.hpp"

namespace cac {
namespace {

using EcdsaSigPtr = ossl::Owned<ECDSA_SIG, ECDSA_SIG_free>;
using DigestContextPtr = ossl::Owned<EVP_MD_CTX, EVP_MD_CTX_free>;

// DigestInfo ::= SEQUENCE { AlgorithmIdentifier { id-sha256, NULL }, OCTET STRING (32) }
constexpr std::array<std::uint8_t, 19> kSha256DigestInfoPrefix{
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

const EVP_MD* digest_sha256() {
    const EVP_MD* md = ossl::sha256();
    return md != nullptr ? md : EVP_sha256();
}

}  // namespace

Bytes random_bytes(std::size_t size) {
    Bytes bytes(size);
    if (size > INT_MAX || RAND_bytes(bytes.data(), int(size)) != 1) {
        throw Error(CoreCode::internal, "make random bytes",
                    ossl::take_error("the random generator failed"));
    }
    return bytes;
}

Bytes sha256_digest(std::span<const std::uint8_t> data) {
    Bytes digest(32);
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &length, digest_sha256(), nullptr) !=
            1 ||
        length != digest.size()) {
        throw Error(CoreCode::internal, "hash with SHA-256", ossl::take_error("digest failed"));
    }
    return digest;
}

Bytes sha256_digest_info(std::span<const std::uint8_t> digest) {
    Bytes info(kSha256DigestInfoPrefix.size() + digest.size());
    std::copy(kSha256DigestInfoPrefix.begin(), kSha256DigestInfoPrefix.end(), info.begin());
    std::copy(digest.begin(), digest.end(), info.begin() + kSha256DigestInfoPrefix.size());
    return info;
}

std::optional<Bytes> ecdsa_raw_to_der(std::span<const std::uint8_t> raw) {
    if (raw.empty() || raw.size() % 2 != 0 || raw.size() > INT_MAX)
        return std::nullopt;
    int half = int(raw.size() / 2);
    EcdsaSigPtr sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(raw.data(), half, nullptr);
    BIGNUM* s = BN_bin2bn(raw.data() + half, half, nullptr);
    // ECDSA_SIG_set0 takes both numbers only when it succeeds.
    if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        throw std::bad_alloc();
    }
    int size = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (size <= 0)
        throw std::bad_alloc();
    Bytes der(static_cast<std::size_t>(size));
    unsigned char* cursor = der.data();
    i2d_ECDSA_SIG(sig.get(), &cursor);
    return der;
}

SignatureVerdict verify_sha256_signature(std::span<const std::uint8_t> certificate,
                                         std::span<const std::uint8_t> data,
                                         std::span<const std::uint8_t> signature) {
    ossl::X509Ptr cert = ossl::parse_der(certificate);
    EVP_PKEY* key = cert ? X509_get0_pubkey(cert.get()) : nullptr;
    if (key == nullptr) {
        throw Error(CoreCode::certificate_invalid, "read the certificate's public key",
                    ossl::take_error("the certificate does not parse"));
    }
    DigestContextPtr context(EVP_MD_CTX_new());
    if (!context ||
        EVP_DigestVerifyInit(context.get(), nullptr, digest_sha256(), nullptr, key) != 1) {
        throw Error(CoreCode::internal, "verify the signature",
                    ossl::take_error("the certificate's key cannot verify SHA-256 signatures"));
    }
    // 1 is a good signature; 0 a bad one, and a negative value one that does not even
    // decode (an ECDSA signature for an RSA key): not this key's signature either way.
    int rc = EVP_DigestVerify(context.get(), signature.data(), signature.size(), data.data(),
                              data.size());
    if (rc == 1) {
        ossl::take_error("");
        return {SignatureCheck::verified, {}};
    }
    return {SignatureCheck::mismatch, ossl::take_error("")};
}

}  // namespace cac
