#include "core/pkcs11/mechanisms.hpp"

#include <cstdio>

#include "core/pkcs11/list_fetch.hpp"

namespace cac {
namespace {

struct Named {
    CK_ULONG value;
    const char* name;
};

#define NAMED(m) \
    Named {      \
        m, #m    \
    }

// The mechanisms smart cards and HSMs commonly offer (PKCS#11 v2.40 section 2 and the
// current mechanisms document); the rest are shown by value.
const Named mechanism_names[] = {
    NAMED(CKM_RSA_PKCS_KEY_PAIR_GEN),
    NAMED(CKM_RSA_PKCS),
    NAMED(CKM_RSA_9796),
    NAMED(CKM_RSA_X_509),
    NAMED(CKM_MD5_RSA_PKCS),
    NAMED(CKM_SHA1_RSA_PKCS),
    NAMED(CKM_RSA_PKCS_OAEP),
    NAMED(CKM_RSA_X9_31_KEY_PAIR_GEN),
    NAMED(CKM_RSA_PKCS_PSS),
    NAMED(CKM_SHA1_RSA_PKCS_PSS),
    NAMED(CKM_SHA224_RSA_PKCS),
    NAMED(CKM_SHA256_RSA_PKCS),
    NAMED(CKM_SHA384_RSA_PKCS),
    NAMED(CKM_SHA512_RSA_PKCS),
    NAMED(CKM_SHA224_RSA_PKCS_PSS),
    NAMED(CKM_SHA256_RSA_PKCS_PSS),
    NAMED(CKM_SHA384_RSA_PKCS_PSS),
    NAMED(CKM_SHA512_RSA_PKCS_PSS),
    NAMED(CKM_DSA_KEY_PAIR_GEN),
    NAMED(CKM_DSA),
    NAMED(CKM_DSA_SHA1),
    NAMED(CKM_DH_PKCS_KEY_PAIR_GEN),
    NAMED(CKM_DH_PKCS_DERIVE),
    NAMED(CKM_DES3_KEY_GEN),
    NAMED(CKM_DES3_ECB),
    NAMED(CKM_DES3_CBC),
    NAMED(CKM_DES3_CBC_PAD),
    NAMED(CKM_MD5),
    NAMED(CKM_MD5_HMAC),
    NAMED(CKM_SHA_1),
    NAMED(CKM_SHA_1_HMAC),
    NAMED(CKM_SHA224),
    NAMED(CKM_SHA224_HMAC),
    NAMED(CKM_SHA256),
    NAMED(CKM_SHA256_HMAC),
    NAMED(CKM_SHA384),
    NAMED(CKM_SHA384_HMAC),
    NAMED(CKM_SHA512),
    NAMED(CKM_SHA512_HMAC),
    NAMED(CKM_GENERIC_SECRET_KEY_GEN),
    NAMED(CKM_EC_KEY_PAIR_GEN),
    NAMED(CKM_ECDSA),
    NAMED(CKM_ECDSA_SHA1),
    NAMED(CKM_ECDSA_SHA224),
    NAMED(CKM_ECDSA_SHA256),
    NAMED(CKM_ECDSA_SHA384),
    NAMED(CKM_ECDSA_SHA512),
    NAMED(CKM_ECDH1_DERIVE),
    NAMED(CKM_ECDH1_COFACTOR_DERIVE),
    NAMED(CKM_EC_EDWARDS_KEY_PAIR_GEN),
    NAMED(CKM_EDDSA),
    NAMED(CKM_AES_KEY_GEN),
    NAMED(CKM_AES_ECB),
    NAMED(CKM_AES_CBC),
    NAMED(CKM_AES_MAC),
    NAMED(CKM_AES_MAC_GENERAL),
    NAMED(CKM_AES_CBC_PAD),
    NAMED(CKM_AES_CTR),
    NAMED(CKM_AES_GCM),
    NAMED(CKM_AES_CCM),
    NAMED(CKM_AES_CMAC),
    NAMED(CKM_AES_CMAC_GENERAL),
    NAMED(CKM_AES_KEY_WRAP),
    NAMED(CKM_AES_KEY_WRAP_PAD),
};

// PKCS#11 v2.40 section 3.5, table 31 (mechanism information flags). The EC bits p11-kit's
// header lacks are given by value.
const Named mechanism_flags[] = {
    {CKF_HW, "hw"},
    {CKF_ENCRYPT, "encrypt"},
    {CKF_DECRYPT, "decrypt"},
    {CKF_DIGEST, "digest"},
    {CKF_SIGN, "sign"},
    {CKF_SIGN_RECOVER, "sign_recover"},
    {CKF_VERIFY, "verify"},
    {CKF_VERIFY_RECOVER, "verify_recover"},
    {CKF_GENERATE, "generate"},
    {CKF_GENERATE_KEY_PAIR, "generate_key_pair"},
    {CKF_WRAP, "wrap"},
    {CKF_UNWRAP, "unwrap"},
    {CKF_DERIVE, "derive"},
    {CKF_EC_F_P, "ec_f_p"},
    {1UL << 21, "ec_f_2m"},
    {1UL << 22, "ec_ecparameters"},
    {CKF_EC_NAMEDCURVE, "ec_namedcurve"},
    {CKF_EC_UNCOMPRESS, "ec_uncompress"},
    {CKF_EC_COMPRESS, "ec_compress"},
    {CKF_EXTENSION, "extension"},
};

std::string hex_name(CK_ULONG value) {
    char text[24];
    std::snprintf(text, sizeof text, "0x%08lx", static_cast<unsigned long>(value));
    return text;
}

}  // namespace

std::string mechanism_name(CK_MECHANISM_TYPE type) {
    for (const auto& entry : mechanism_names) {
        if (entry.value == type)
            return entry.name;
    }
    return hex_name(type);
}

std::vector<std::string> mechanism_flag_names(CK_FLAGS flags) {
    std::vector<std::string> names;
    CK_FLAGS known = 0;
    for (const auto& entry : mechanism_flags) {
        known |= entry.value;
        if (flags & entry.value)
            names.emplace_back(entry.name);
    }
    for (CK_FLAGS bit = 1; bit != 0; bit <<= 1) {
        if ((flags & bit) && !(known & bit))
            names.push_back(hex_name(bit));
    }
    return names;
}

std::vector<Mechanism> list_mechanisms(const Cryptoki& cryptoki, CK_SLOT_ID slot) {
    auto types = fetch_list<CK_MECHANISM_TYPE>(
        "C_GetMechanismList", [&](CK_MECHANISM_TYPE* list, CK_ULONG* count) {
            return cryptoki.get_mechanism_list(slot, list, count);
        });
    std::vector<Mechanism> mechanisms;
    for (CK_MECHANISM_TYPE type : types) {
        Mechanism mechanism;
        mechanism.type = type;
        mechanism.name = mechanism_name(type);
        CK_MECHANISM_INFO info{};
        CK_RV rv = cryptoki.get_mechanism_info(slot, type, &info);
        if (rv == CKR_OK) {
            mechanism.info = info;
            mechanism.flag_names = mechanism_flag_names(info.flags);
        } else {
            mechanism.error = Error(ErrorDomain::pkcs11, std::uint32_t(rv), "C_GetMechanismInfo")
                                  .with_slot(std::to_string(slot));
        }
        mechanisms.push_back(std::move(mechanism));
    }
    return mechanisms;
}

}  // namespace cac
