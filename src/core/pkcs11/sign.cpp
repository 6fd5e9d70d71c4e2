#include "core/pkcs11/sign.hpp"

#include <algorithm>

#include "core/pkcs11/mechanisms.hpp"
#include "core/pkcs11/objects.hpp"
#include "core/util/error.hpp"
#include "core/util/in_flight.hpp"

namespace cac {
namespace {

// Large enough for an RSA 8192 signature, the largest any token makes; a module that
// asks for more is asked once more with the size it names, up to this bound times four.
constexpr CK_ULONG kSignatureBuffer = 1024;
constexpr CK_ULONG kSignatureLimit = 4 * kSignatureBuffer;

bool offers(const std::vector<CK_MECHANISM_TYPE>& offered, CK_MECHANISM_TYPE type) {
    return std::find(offered.begin(), offered.end(), type) != offered.end();
}

Error failed(CK_RV rv, const char* call, const Session& session) {
    return Error(ErrorDomain::pkcs11, std::uint32_t(rv), call)
        .with_slot(std::to_string(session.slot()));
}

// The context-specific login: the card counts a wrong PIN here as anywhere else, so the
// call must finish, and a PIN pad waits for a person.
void log_in_for_key(const Session& session, const ContextLogin& login) {
    std::unique_ptr<in_flight::MustFinish> verifying =
        login.hold ? login.hold() : std::make_unique<in_flight::MustFinish>();
    if (!verifying) {
        throw Error(CoreCode::timed_out, "C_Login",
                    "not tried: the run is past its time bound, and no PIN goes out any more");
    }
    std::optional<in_flight::WaitingForPerson> typing;
    if (login.pin == nullptr)
        typing.emplace();
    CK_RV rv = session.cryptoki().login(session.handle(), CKU_CONTEXT_SPECIFIC, login.pin);
    if (rv != CKR_OK)
        throw failed(rv, "C_Login", session);
}

// A CK_BBOOL attribute's value, when it has one.
std::optional<bool> flag(const Attribute& attribute) {
    if (!attribute.present() || attribute.value.size() != sizeof(CK_BBOOL))
        return std::nullopt;
    return attribute.value[0] != CK_FALSE;
}

}  // namespace

std::vector<PrivateKey> private_keys(const Cryptoki& cryptoki, CK_SESSION_HANDLE session) {
    static constexpr CK_ATTRIBUTE_TYPE wanted[] = {CKA_ID, CKA_LABEL, CKA_KEY_TYPE,
                                                   CKA_ALWAYS_AUTHENTICATE, CKA_SIGN};
    std::vector<PrivateKey> keys;
    for (CK_OBJECT_HANDLE handle :
         find_objects(cryptoki, session, {ulong_match(CKA_CLASS, CKO_PRIVATE_KEY)})) {
        std::vector<Attribute> a = read_attributes(cryptoki, session, handle, wanted);
        PrivateKey key;
        key.handle = handle;
        if (a[0].present())
            key.id = a[0].value;
        key.label = a[1].as_text();
        key.key_type = a[2].as_ulong();
        key.always_authenticate = flag(a[3]).value_or(false);
        key.can_sign = flag(a[4]);
        keys.push_back(std::move(key));
    }
    return keys;
}

std::optional<SignMechanism> choose_sign_mechanism(CK_KEY_TYPE key_type,
                                                   const std::vector<CK_MECHANISM_TYPE>& offered) {
    if (key_type == CKK_RSA) {
        if (offers(offered, CKM_SHA256_RSA_PKCS))
            return SignMechanism{CKM_SHA256_RSA_PKCS, SignInput::message};
        if (offers(offered, CKM_RSA_PKCS))
            return SignMechanism{CKM_RSA_PKCS, SignInput::digest_info};
        return std::nullopt;
    }
    if (key_type == CKK_EC && offers(offered, CKM_ECDSA))
        return SignMechanism{CKM_ECDSA, SignInput::digest};
    return std::nullopt;
}

std::vector<CK_MECHANISM_TYPE> sign_mechanisms(const Cryptoki& cryptoki, CK_SLOT_ID slot) {
    std::vector<CK_MECHANISM_TYPE> types;
    for (const Mechanism& mechanism : list_mechanisms(cryptoki, slot)) {
        if (mechanism.info && (mechanism.info->flags & CKF_SIGN) != 0)
            types.push_back(mechanism.type);
    }
    return types;
}

Bytes sign_once(const Session& session, const PrivateKey& key, CK_MECHANISM_TYPE mechanism,
                std::span<const std::uint8_t> input, const ContextLogin& login) {
    const Cryptoki& cryptoki = session.cryptoki();
    CK_MECHANISM m{mechanism, nullptr, 0};
    CK_RV rv = cryptoki.sign_init(session.handle(), &m, key.handle);
    if (rv != CKR_OK)
        throw failed(rv, "C_SignInit", session);
    if (key.always_authenticate)
        log_in_for_key(session, login);
    Bytes signature(kSignatureBuffer);
    CK_ULONG length = CK_ULONG(signature.size());
    rv = cryptoki.sign(session.handle(), input.data(), CK_ULONG(input.size()), signature.data(),
                       &length);
    // CKR_BUFFER_TOO_SMALL leaves the operation active (PKCS#11 v2.40, 5.2), with the
    // size needed in `length`.
    if (rv == CKR_BUFFER_TOO_SMALL && length > signature.size() && length <= kSignatureLimit) {
        signature.resize(length);
        rv = cryptoki.sign(session.handle(), input.data(), CK_ULONG(input.size()), signature.data(),
                           &length);
    }
    if (rv != CKR_OK)
        throw failed(rv, "C_Sign", session);
    signature.resize(std::min<std::size_t>(length, signature.size()));
    return signature;
}

}  // namespace cac
