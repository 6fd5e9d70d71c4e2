#include "pki.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include <stdexcept>

namespace cardsim {

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

Pkey own(EVP_PKEY* key) {
    return Pkey(key, EVP_PKEY_free);
}
Cert own(X509* cert) {
    return Cert(cert, X509_free);
}

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("failed to " + what + " (OpenSSL)");
}

Bio open_file(const std::filesystem::path& path, const char* mode) {
    Bio bio(BIO_new_file(path.c_str(), mode));
    if (!bio) {
        throw std::runtime_error("cannot open " + path.string());
    }
    return bio;
}

std::string group_name(EVP_PKEY* key) {
    char name[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) !=
        1) {
        return {};
    }
    return std::string(name, len);
}

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
    if (ext == nullptr) {
        fail("make certificate extension " + value);
    }
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

void set_names(X509* cert, const CertRequest& req, X509* issuer) {
    X509_NAME* name = X509_get_subject_name(cert);
    auto cn = reinterpret_cast<const unsigned char*>(req.common_name.c_str());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("cactool test bed"), -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0);
    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
}

void set_serial(X509* cert) {
    Bytes serial = random_bytes(16);
    serial[0] = (serial[0] & 0x7F) | 0x40;  // positive, and always 16 bytes long
    BIGNUM* bn = BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    BN_free(bn);
}

void add_extensions(X509* cert, const CertRequest& req, X509* issuer) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
    add_extension(cert, &ctx, NID_basic_constraints, req.ca ? "critical,CA:TRUE" : "CA:FALSE");
    add_extension(cert, &ctx, NID_key_usage, "critical," + req.key_usage);
    if (!req.extended_key_usage.empty()) {
        add_extension(cert, &ctx, NID_ext_key_usage, req.extended_key_usage);
    }
    add_extension(cert, &ctx, NID_subject_key_identifier, "hash");
    add_extension(cert, &ctx, NID_authority_key_identifier, "keyid:always");
}

std::optional<Bytes> run_sign(EVP_PKEY* key, std::span<const std::uint8_t> in, bool raw_rsa) {
    PkeyCtx ctx(EVP_PKEY_CTX_new(key, nullptr));
    std::size_t len = 0;
    if (!ctx) {
        return std::nullopt;
    }
    int ok = raw_rsa ? EVP_PKEY_decrypt_init(ctx.get()) : EVP_PKEY_sign_init(ctx.get());
    if (ok != 1 || (raw_rsa && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) != 1)) {
        return std::nullopt;
    }
    auto op = raw_rsa ? EVP_PKEY_decrypt : EVP_PKEY_sign;
    if (op(ctx.get(), nullptr, &len, in.data(), in.size()) != 1) {
        return std::nullopt;
    }
    Bytes out(len);
    if (op(ctx.get(), out.data(), &len, in.data(), in.size()) != 1) {
        return std::nullopt;
    }
    out.resize(len);
    return out;
}

}  // namespace

std::string algorithm_name(Algorithm alg) {
    switch (alg) {
        case Algorithm::rsa2048:
            return "rsa2048";
        case Algorithm::ecc256:
            return "ecc256";
        case Algorithm::ecc384:
            return "ecc384";
    }
    return "?";
}

std::optional<Algorithm> algorithm_from_name(const std::string& name) {
    for (auto alg : {Algorithm::rsa2048, Algorithm::ecc256, Algorithm::ecc384}) {
        if (algorithm_name(alg) == name) {
            return alg;
        }
    }
    return std::nullopt;
}

std::uint8_t algorithm_id(Algorithm alg) {
    switch (alg) {
        case Algorithm::rsa2048:
            return 0x07;
        case Algorithm::ecc256:
            return 0x11;
        case Algorithm::ecc384:
            return 0x14;
    }
    return 0;
}

std::optional<Algorithm> key_algorithm(EVP_PKEY* key) {
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) == 2048) {
        return Algorithm::rsa2048;
    }
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        std::string group = group_name(key);
        if (group == "prime256v1" || group == "P-256") {
            return Algorithm::ecc256;
        }
        if (group == "secp384r1" || group == "P-384") {
            return Algorithm::ecc384;
        }
    }
    return std::nullopt;
}

Pkey generate_key(Algorithm alg) {
    EVP_PKEY* key = nullptr;
    switch (alg) {
        case Algorithm::rsa2048:
            key = EVP_RSA_gen(2048);
            break;
        case Algorithm::ecc256:
            key = EVP_EC_gen("P-256");
            break;
        case Algorithm::ecc384:
            key = EVP_EC_gen("P-384");
            break;
    }
    if (key == nullptr) {
        fail("generate a " + algorithm_name(alg) + " key");
    }
    return own(key);
}

Pkey read_private_key(const std::filesystem::path& pem) {
    Bio bio = open_file(pem, "r");
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (key == nullptr) {
        throw std::runtime_error(pem.string() + " holds no PEM private key");
    }
    return own(key);
}

void write_private_key(const std::filesystem::path& pem, EVP_PKEY* key) {
    Bio bio = open_file(pem, "w");
    if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        fail("write " + pem.string());
    }
}

Cert read_certificate(const std::filesystem::path& pem) {
    Bio bio = open_file(pem, "r");
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) {
        throw std::runtime_error(pem.string() + " holds no PEM certificate");
    }
    return own(cert);
}

void write_certificate(const std::filesystem::path& pem, X509* cert) {
    Bio bio = open_file(pem, "w");
    if (PEM_write_bio_X509(bio.get(), cert) != 1) {
        fail("write " + pem.string());
    }
}

Bytes certificate_der(X509* cert) {
    int len = i2d_X509(cert, nullptr);
    if (len <= 0) {
        fail("encode a certificate");
    }
    Bytes der(static_cast<std::size_t>(len));
    unsigned char* p = der.data();
    i2d_X509(cert, &p);
    return der;
}

bool certificate_matches_key(X509* cert, EVP_PKEY* key) {
    return X509_check_private_key(cert, key) == 1;
}

Cert make_certificate(const CertRequest& req, EVP_PKEY* subject_key, X509* issuer,
                      EVP_PKEY* issuer_key) {
    Cert cert = own(X509_new());
    X509_set_version(cert.get(), 2);
    set_serial(cert.get());
    set_names(cert.get(), req, issuer);
    if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), req.not_before) ||
        !ASN1_TIME_set(X509_getm_notAfter(cert.get()), req.not_after)) {
        fail("set the validity of " + req.common_name);
    }
    X509_set_pubkey(cert.get(), subject_key);
    add_extensions(cert.get(), req, issuer);
    if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) {
        fail("sign the certificate of " + req.common_name);
    }
    return cert;
}

Bytes sha256(std::span<const std::uint8_t> data) {
    Bytes md(32);
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr);
    return md;
}

Bytes gzip(std::span<const std::uint8_t> data) {
    z_stream zs{};
    // windowBits 15 + 16 asks zlib for the gzip wrapper (RFC 1952), as PIV cards store it.
    if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        fail("start gzip");
    }
    Bytes out(deflateBound(&zs, data.size()) + 32);
    zs.next_in = const_cast<Bytef*>(data.data());
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = out.data();
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        fail("gzip a certificate");
    }
    return out;
}

Bytes random_bytes(std::size_t n) {
    Bytes out(n);
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
        fail("draw random bytes");
    }
    return out;
}

std::optional<Bytes> rsa_raw(EVP_PKEY* key, std::span<const std::uint8_t> input) {
    auto size = static_cast<std::size_t>(EVP_PKEY_get_size(key));
    if (input.size() != size) {
        return std::nullopt;
    }
    auto out = run_sign(key, input, true);
    if (out && out->size() < size) {
        out->insert(out->begin(), size - out->size(), 0);
    }
    return out;
}

std::optional<Bytes> ecdsa_sign(EVP_PKEY* key, std::span<const std::uint8_t> hash) {
    auto field = static_cast<std::size_t>((EVP_PKEY_get_bits(key) + 7) / 8);
    if (hash.empty() || hash.size() > field) {
        return std::nullopt;
    }
    return run_sign(key, hash, false);
}

std::optional<Bytes> ecdh(EVP_PKEY* key, std::span<const std::uint8_t> point) {
    auto field = static_cast<std::size_t>((EVP_PKEY_get_bits(key) + 7) / 8);
    if (point.size() != 1 + 2 * field || point[0] != 0x04) {
        return std::nullopt;
    }
    Pkey peer = own(EVP_PKEY_new());
    if (EVP_PKEY_copy_parameters(peer.get(), key) != 1 ||
        EVP_PKEY_set1_encoded_public_key(peer.get(), point.data(), point.size()) != 1) {
        return std::nullopt;  // not a point of the key's curve
    }
    PkeyCtx ctx(EVP_PKEY_CTX_new(key, nullptr));
    std::size_t len = 0;
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
        EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1) {
        return std::nullopt;
    }
    Bytes secret(len);
    if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1) {
        return std::nullopt;
    }
    secret.resize(len);
    return secret;
}

}  // namespace cardsim
