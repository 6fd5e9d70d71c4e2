// Signing with a private key on a token: finding the key, choosing the mechanism the key
// and the token allow, and the two-step authentication some keys demand.
#pragma once

#include <p11-kit/pkcs11.h>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/pkcs11/cryptoki.hpp"
#include "core/pkcs11/session.hpp"
#include "core/util/hex.hpp"
#include "core/util/in_flight.hpp"

namespace cac {

struct PrivateKey {
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    Bytes id;
    std::optional<std::string> label;
    std::optional<CK_KEY_TYPE> key_type;
    // CKA_ALWAYS_AUTHENTICATE: the PIN is asked again before each use (PIV key 9C).
    bool always_authenticate = false;
    // CKA_SIGN; false for a key that only decrypts or derives (PIV key 9D), unset when the
    // module does not say.
    std::optional<bool> can_sign;
};

// Every CKO_PRIVATE_KEY visible in the session with its CKA_ID, CKA_LABEL, CKA_KEY_TYPE,
// CKA_ALWAYS_AUTHENTICATE and CKA_SIGN. Keys a token hides until login are not among them.
[[nodiscard]] std::vector<PrivateKey> private_keys(const Cryptoki& cryptoki,
                                                   CK_SESSION_HANDLE session);

// What the token is handed to sign a message.
enum class SignInput {
    message,      // the message itself; the mechanism hashes it
    digest_info,  // the DER DigestInfo of the message's SHA-256 hash
    digest,       // the message's SHA-256 hash
};

struct SignMechanism {
    CK_MECHANISM_TYPE type = 0;
    SignInput input = SignInput::message;
};

// The mechanism for a SHA-256 signature with a key of `key_type`, among the mechanisms
// the token offers for signing: CKM_SHA256_RSA_PKCS for RSA, or CKM_RSA_PKCS over a
// DigestInfo when the token does not hash itself; CKM_ECDSA over the hash for EC (every
// ECDSA token has it, where CKM_ECDSA_SHA256 came only with v2.40). Nullopt when none
// fits or the key type is another.
[[nodiscard]] std::optional<SignMechanism> choose_sign_mechanism(
    CK_KEY_TYPE key_type, const std::vector<CK_MECHANISM_TYPE>& offered);

// The mechanisms of the slot's token whose C_GetMechanismInfo has CKF_SIGN. Throws as
// list_mechanisms does.
[[nodiscard]] std::vector<CK_MECHANISM_TYPE> sign_mechanisms(const Cryptoki& cryptoki,
                                                             CK_SLOT_ID slot);

// How the context-specific login of a key with CKA_ALWAYS_AUTHENTICATE is given: the PIN's
// bytes, or the PIN pad (null).
struct ContextLogin {
    const Secret* pin = nullptr;
    // Asked right before the PIN goes out, for the hold that keeps the verification from
    // being cut short (in_flight::MustFinish); a null hold means no PIN may go out any
    // more (the run is being given up on), and nothing is sent. Unset: a hold of its own.
    std::function<std::unique_ptr<in_flight::MustFinish>()> hold;
};

// C_SignInit, then for a key that asks for it C_Login(CKU_CONTEXT_SPECIFIC) (PKCS#11
// v2.40, 4.9: right after the operation is initialised), then C_Sign. Throws
// Error(ErrorDomain::pkcs11, rv, call) with the slot for a failure of any of them; the
// operation may then still be active in the session, which the caller should close.
[[nodiscard]] Bytes sign_once(const Session& session, const PrivateKey& key,
                              CK_MECHANISM_TYPE mechanism, std::span<const std::uint8_t> input,
                              const ContextLogin& login);

}  // namespace cac
