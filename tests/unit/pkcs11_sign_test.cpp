// Signing through the PKCS#11 seam: which mechanism a key gets, the order of the calls a
// key with CKA_ALWAYS_AUTHENTICATE needs (PKCS#11 v2.40, 4.9 and 5.2), and the reading of
// private keys.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/pkcs11/sign.hpp"
#include "core/util/error.hpp"
#include "pkcs11_fake.hpp"

using namespace cac;
using namespace cac::test;

namespace {

// What the test's C_SignInit and C_Sign answer; the fake records each call's name.
struct SignScript {
    CK_RV sign_init_rv = CKR_OK;
    CK_ULONG needed = 4;  // the signature's length
    std::vector<CK_ULONG> offered_lengths;
    CK_MECHANISM_TYPE mechanism = 0;
    Bytes data;
};

SignScript* script = nullptr;

void install_sign(FakeModule& fake, SignScript& s) {
    script = &s;
    fake.list.C_SignInit = [](CK_SESSION_HANDLE, CK_MECHANISM* m, CK_OBJECT_HANDLE) {
        FakeModule::current().calls.emplace_back("C_SignInit");
        script->mechanism = m->mechanism;
        return script->sign_init_rv;
    };
    fake.list.C_Sign = [](CK_SESSION_HANDLE, CK_BYTE* data, CK_ULONG len, CK_BYTE* out,
                          CK_ULONG* out_len) {
        FakeModule::current().calls.emplace_back("C_Sign");
        script->offered_lengths.push_back(*out_len);
        script->data.assign(data, data + len);
        if (*out_len < script->needed) {
            *out_len = script->needed;
            return CKR_BUFFER_TOO_SMALL;
        }
        for (CK_ULONG i = 0; i < script->needed; ++i)
            out[i] = CK_BYTE(0xa0 + i);
        *out_len = script->needed;
        return CKR_OK;
    };
}

std::vector<std::string> calls_from(const FakeModule& fake, const std::string& first) {
    std::vector<std::string> out;
    bool on = false;
    for (const std::string& c : fake.calls) {
        on = on || c == first;
        if (on && c != "C_CloseSession")
            out.push_back(c);
    }
    return out;
}

}  // namespace

TEST_CASE("an RSA key signs with CKM_SHA256_RSA_PKCS, or CKM_RSA_PKCS over a DigestInfo") {
    auto both = choose_sign_mechanism(CKK_RSA, {CKM_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_ECDSA});
    REQUIRE(both);
    CHECK(both->type == CKM_SHA256_RSA_PKCS);
    CHECK(both->input == SignInput::message);
    auto raw = choose_sign_mechanism(CKK_RSA, {CKM_SHA1_RSA_PKCS, CKM_RSA_PKCS});
    REQUIRE(raw);
    CHECK(raw->type == CKM_RSA_PKCS);
    CHECK(raw->input == SignInput::digest_info);
    CHECK_FALSE(choose_sign_mechanism(CKK_RSA, {CKM_ECDSA, CKM_RSA_X_509}));
}

TEST_CASE("an EC key signs the hash with CKM_ECDSA; other keys get no mechanism") {
    auto ec = choose_sign_mechanism(CKK_EC, {CKM_ECDSA_SHA256, CKM_ECDSA});
    REQUIRE(ec);
    CHECK(ec->type == CKM_ECDSA);
    CHECK(ec->input == SignInput::digest);
    CHECK_FALSE(choose_sign_mechanism(CKK_EC, {CKM_SHA256_RSA_PKCS}));
    CHECK_FALSE(choose_sign_mechanism(CKK_EC_EDWARDS, {CKM_ECDSA, CKM_EDDSA}));
    CHECK_FALSE(choose_sign_mechanism(CKK_RSA, {}));
}

TEST_CASE("a key with CKA_ALWAYS_AUTHENTICATE is logged in for right after C_SignInit") {
    FakeModule fake;
    SignScript s;
    install_sign(fake, s);
    std::vector<CK_USER_TYPE> users;
    std::string pin_seen;
    fake.login = [&](CK_USER_TYPE user, const unsigned char* pin, CK_ULONG len) {
        users.push_back(user);
        pin_seen.assign(reinterpret_cast<const char*>(pin), len);
        return CKR_OK;
    };
    Session session(fake.cryptoki(), 3);
    Secret pin("Qz7-ctx");
    PrivateKey key{5, {0x02}, "SIGN key", CKK_EC, true, true};
    Bytes signature = sign_once(session, key, CKM_ECDSA, Bytes{1, 2, 3}, ContextLogin{&pin, {}});
    CHECK(calls_from(fake, "C_SignInit") ==
          std::vector<std::string>{"C_SignInit", "C_Login", "C_Sign"});
    CHECK(users == std::vector<CK_USER_TYPE>{CKU_CONTEXT_SPECIFIC});
    CHECK(pin_seen == "Qz7-ctx");
    CHECK(s.mechanism == CKM_ECDSA);
    CHECK(s.data == Bytes{1, 2, 3});
    CHECK(signature == Bytes{0xa0, 0xa1, 0xa2, 0xa3});
}

TEST_CASE("a key without CKA_ALWAYS_AUTHENTICATE signs without another login") {
    FakeModule fake;
    SignScript s;
    install_sign(fake, s);
    Session session(fake.cryptoki(), 3);
    PrivateKey key{5, {0x01}, {}, CKK_RSA, false, true};
    (void)sign_once(session, key, CKM_SHA256_RSA_PKCS, Bytes{9}, ContextLogin{});
    CHECK(calls_from(fake, "C_SignInit") == std::vector<std::string>{"C_SignInit", "C_Sign"});
}

TEST_CASE("a signature longer than the first buffer is asked for again with the size named") {
    FakeModule fake;
    SignScript s;
    s.needed = 2048;  // more than any RSA key makes, but within what a module may claim
    install_sign(fake, s);
    Session session(fake.cryptoki(), 3);
    PrivateKey key{5, {0x01}, {}, CKK_RSA, false, true};
    Bytes signature = sign_once(session, key, CKM_RSA_PKCS, Bytes{9}, ContextLogin{});
    CHECK(signature.size() == 2048);
    REQUIRE(s.offered_lengths.size() == 2);
    CHECK(s.offered_lengths[1] == 2048);
}

TEST_CASE("a refused context-specific login is the error of C_Login, and C_Sign is not called") {
    FakeModule fake;
    SignScript s;
    install_sign(fake, s);
    fake.login = [](CK_USER_TYPE, const unsigned char*, CK_ULONG) { return CKR_PIN_INCORRECT; };
    Session session(fake.cryptoki(), 3);
    Secret pin("Qz7-wrong");
    PrivateKey key{5, {0x02}, {}, CKK_EC, true, true};
    try {
        (void)sign_once(session, key, CKM_ECDSA, Bytes{1}, ContextLogin{&pin, {}});
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.is(ErrorDomain::pkcs11, CKR_PIN_INCORRECT));
        CHECK(e.operation() == "C_Login");
        CHECK(e.context().slot == "3");
    }
    CHECK(fake.count("C_Sign") == 0);
    CHECK(fake.count("C_Login") == 1);
}

TEST_CASE("a mechanism the key refuses is the error of C_SignInit") {
    FakeModule fake;
    SignScript s;
    s.sign_init_rv = CKR_KEY_TYPE_INCONSISTENT;
    install_sign(fake, s);
    Session session(fake.cryptoki(), 3);
    PrivateKey key{5, {0x01}, {}, CKK_RSA, true, true};
    CHECK_THROWS_AS((void)sign_once(session, key, CKM_ECDSA, Bytes{1}, ContextLogin{}), Error);
    CHECK(fake.count("C_Login") == 0);
    CHECK(fake.count("C_Sign") == 0);
}

TEST_CASE(
    "private keys are read with their id, label, type, CKA_ALWAYS_AUTHENTICATE and CKA_SIGN") {
    FakeModule fake;
    fake.objects = {11, 12};
    auto ulong_bytes = [](CK_ULONG v) {
        std::vector<unsigned char> b(sizeof v);
        std::memcpy(b.data(), &v, sizeof v);
        return b;
    };
    fake.attributes[11][CKA_ID].value = {0x01};
    fake.attributes[11][CKA_LABEL].value = {'A', 'U', 'T', 'H'};
    fake.attributes[11][CKA_KEY_TYPE].value = ulong_bytes(CKK_RSA);
    fake.attributes[11][CKA_ALWAYS_AUTHENTICATE].value = {CK_FALSE};
    fake.attributes[12][CKA_ID].value = {0x02};
    fake.attributes[12][CKA_KEY_TYPE].value = ulong_bytes(CKK_EC);
    fake.attributes[12][CKA_ALWAYS_AUTHENTICATE].value = {CK_TRUE};
    fake.attributes[12][CKA_SIGN].value = {CK_FALSE};
    Session session(fake.cryptoki(), 3);
    std::vector<PrivateKey> keys = private_keys(fake.cryptoki(), session.handle());
    REQUIRE(keys.size() == 2);
    CHECK(keys[0].handle == 11);
    CHECK(keys[0].id == Bytes{0x01});
    CHECK(keys[0].label == "AUTH");
    CHECK(keys[0].key_type == CKK_RSA);
    CHECK_FALSE(keys[0].always_authenticate);
    CHECK(keys[1].id == Bytes{0x02});
    CHECK_FALSE(keys[1].label);
    CHECK(keys[1].key_type == CKK_EC);
    CHECK(keys[1].always_authenticate);
    CHECK_FALSE(keys[0].can_sign.has_value());
    CHECK(keys[1].can_sign == false);
}
