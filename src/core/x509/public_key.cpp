#include "core/x509/public_key.hpp"

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <array>
#include <optional>

#include "core/x509/openssl.hpp"

namespace cac {
namespace {

// RSAPublicKey (RFC 8017 A.1.1). Both numbers are read as OpenSSL's BIGNUM type, as
// OpenSSL's own RSA key decoder reads them, so the same encodings are accepted.
struct RsaPublicKey {
    BIGNUM* modulus;
    BIGNUM* exponent;
};

ASN1_SEQUENCE(RsaPublicKey) =
    {
        ASN1_SIMPLE(RsaPublicKey, modulus, BIGNUM),
        ASN1_SIMPLE(RsaPublicKey, exponent, BIGNUM),
} ASN1_SEQUENCE_END(RsaPublicKey)

        void free_rsa_public_key(RsaPublicKey * key) {
    ASN1_item_free(reinterpret_cast<ASN1_VALUE*>(key), ASN1_ITEM_rptr(RsaPublicKey));
}

using RsaPublicKeyPtr = ossl::Owned<RsaPublicKey, free_rsa_public_key>;
using EcGroupPtr = ossl::Owned<EC_GROUP, EC_GROUP_free>;
using EcPointPtr = ossl::Owned<EC_POINT, EC_POINT_free>;

// The SubjectPublicKeyInfo as OpenSSL parsed it.
struct KeyInfo {
    int nid = NID_undef;
    int parameter_type = V_ASN1_UNDEF;
    const void* parameter = nullptr;
    std::span<const std::uint8_t> key;  // the BIT STRING's bytes
};

// What the fast reading found; nullopt from a reader sends the key to OpenSSL's decoder.
struct KeyFacts {
    int bits = 0;
    std::string curve;
};

std::string key_type_name(int nid) {
    switch (nid) {
        case NID_rsaEncryption:
            return "rsa";
        case NID_rsassaPss:
            return "rsa_pss";
        case NID_X9_62_id_ecPublicKey:
            return "ec";
        case NID_ED25519:
            return "ed25519";
        case NID_ED448:
            return "ed448";
        case NID_dsa:
            return "dsa";
        case NID_X25519:
            return "x25519";
        case NID_X448:
            return "x448";
        default:
            break;
    }
    const char* name = OBJ_nid2sn(nid);
    return name ? name : "unknown";
}

// OpenSSL reports an RSA key's size as the bit length of its modulus.
std::optional<KeyFacts> read_rsa(const KeyInfo& info) {
    // RSA-PSS parameters restrict the key and OpenSSL refuses the key when they are
    // malformed; checking them the same way is the decoder's work, so leave it to it.
    if (info.nid == NID_rsassaPss && info.parameter_type != V_ASN1_UNDEF) {
        return std::nullopt;
    }
    if (info.key.empty()) {
        return std::nullopt;
    }
    const unsigned char* cursor = info.key.data();
    RsaPublicKeyPtr key(reinterpret_cast<RsaPublicKey*>(ASN1_item_d2i(
        nullptr, &cursor, static_cast<long>(info.key.size()), ASN1_ITEM_rptr(RsaPublicKey))));
    if (!key) {
        return std::nullopt;
    }
    return KeyFacts{BN_num_bits(key->modulus), {}};
}

// The groups of the curves PIV allows (NIST SP 800-78-4 table 3-1), made once: making a
// group costs more than checking a point on it. Other named curves get theirs per use.
class NistGroups {
  public:
    NistGroups() {
        for (std::size_t i = 0; i < kNids.size(); ++i) {
            groups_[i].reset(EC_GROUP_new_by_curve_name_ex(nullptr, nullptr, kNids[i]));
        }
        ERR_clear_error();
    }
    // nullptr for any other curve.
    const EC_GROUP* find(int nid) const {
        for (std::size_t i = 0; i < kNids.size(); ++i) {
            if (kNids[i] == nid) {
                return groups_[i].get();
            }
        }
        return nullptr;
    }

  private:
    static constexpr std::array<int, 3> kNids = {NID_X9_62_prime256v1, NID_secp384r1,
                                                 NID_secp521r1};
    std::array<EcGroupPtr, 3> groups_;
};

const NistGroups& nist_groups() {
    static const NistGroups groups;
    return groups;
}

// The curve's name and size as OpenSSL's EC key reports them: the group name
// (OSSL_PKEY_PARAM_GROUP_NAME), shown as its NIST name when it has one, and the bit length
// of the group order.
KeyFacts ec_facts(const EC_GROUP* group, int nid) {
    const char* name = OSSL_EC_curve_nid2name(nid);
    const char* nist = EC_curve_nid2nist(nid);
    return KeyFacts{EC_GROUP_order_bits(group), nist ? nist : name};
}

// A named curve and a point OpenSSL accepts on it. SM2's curve makes an SM2 key in
// OpenSSL, not an EC one, and explicit curve parameters need the full decoder; the point
// at infinity and the hybrid forms are left to the decoder too.
std::optional<KeyFacts> read_ec(const KeyInfo& info) {
    if (info.parameter_type != V_ASN1_OBJECT || info.key.empty()) {
        return std::nullopt;
    }
    const int nid = OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(info.parameter));
    const std::uint8_t form = info.key[0];
    if (nid == NID_undef || nid == NID_sm2 || OSSL_EC_curve_nid2name(nid) == nullptr ||
        (form != 0x02 && form != 0x03 && form != 0x04)) {
        return std::nullopt;
    }
    const EC_GROUP* group = nist_groups().find(nid);
    EcGroupPtr own;
    if (group == nullptr) {
        own.reset(EC_GROUP_new_by_curve_name_ex(nullptr, nullptr, nid));
        group = own.get();
    }
    EcPointPtr point(group ? EC_POINT_new(group) : nullptr);
    if (!point ||
        EC_POINT_oct2point(group, point.get(), info.key.data(), info.key.size(), nullptr) != 1) {
        return std::nullopt;
    }
    return ec_facts(group, nid);
}

// RFC 8410: no parameters, and the key is the raw public value. OpenSSL gives Ed25519 256
// bits and Ed448 456, the size of the encoded value.
std::optional<KeyFacts> read_edwards(const KeyInfo& info, std::size_t length) {
    if (info.parameter_type != V_ASN1_UNDEF || info.key.size() != length) {
        return std::nullopt;
    }
    return KeyFacts{static_cast<int>(length * 8), {}};
}

std::optional<KeyFacts> read_known(const KeyInfo& info) {
    switch (info.nid) {
        case NID_rsaEncryption:
        case NID_rsassaPss:
            return read_rsa(info);
        case NID_X9_62_id_ecPublicKey:
            return read_ec(info);
        case NID_ED25519:
            return read_edwards(info, 32);
        case NID_ED448:
            return read_edwards(info, 57);
        default:
            return std::nullopt;
    }
}

std::string curve_name(EVP_PKEY* key) {
    std::array<char, 80> group{};
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                       &length) != 1) {
        return {};  // explicit curve parameters have no name
    }
    const char* nist = EC_curve_nid2nist(OBJ_txt2nid(group.data()));
    return nist ? nist : group.data();
}

// Any other key: the certificate parsed again with OpenSSL's decoders, whose EVP_PKEY
// answers. A key they cannot decode (an unknown algorithm, a damaged point) still leaves a
// certificate worth listing; only its size stays unknown.
void read_decoded_key(std::span<const std::uint8_t> der, CertificateSummary& out) {
    ossl::X509Ptr cert = ossl::parse_der(der);
    EVP_PKEY* key = cert ? X509_get0_pubkey(cert.get()) : nullptr;
    if (key != nullptr) {
        out.key_bits = EVP_PKEY_get_bits(key);
        if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
            out.curve = curve_name(key);
        }
    }
    ERR_clear_error();
}

}  // namespace

void read_public_key(const X509* cert, std::span<const std::uint8_t> der, CertificateSummary& out) {
    ASN1_OBJECT* algorithm = nullptr;
    const unsigned char* key = nullptr;
    int key_length = 0;
    X509_ALGOR* parameters = nullptr;
    X509_PUBKEY_get0_param(&algorithm, &key, &key_length, &parameters, X509_get_X509_PUBKEY(cert));
    if (algorithm == nullptr) {
        out.key_type = "unknown";
        read_decoded_key(der, out);
        return;
    }
    KeyInfo info;
    info.nid = OBJ_obj2nid(algorithm);
    out.key_type = info.nid != NID_undef ? key_type_name(info.nid) : ossl::oid_text(algorithm);
    if (key != nullptr && key_length > 0) {
        info.key = std::span(key, static_cast<std::size_t>(key_length));
    }
    if (parameters != nullptr) {
        X509_ALGOR_get0(nullptr, &info.parameter_type, &info.parameter, parameters);
    }
    const std::optional<KeyFacts> facts = read_known(info);
    if (!facts) {
        read_decoded_key(der, out);
        return;
    }
    out.key_bits = facts->bits;
    out.curve = facts->curve;
    ERR_clear_error();
}

}  // namespace cac
