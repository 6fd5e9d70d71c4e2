// Finding a token again after it went away, against a fake module whose slot list changes
// from call to call as OpenSC's does when a card is pulled and put back.
#include <doctest/doctest.h>

#include <optional>

#include "core/recovery/token_recovery.hpp"
#include "pkcs11_fake.hpp"

using namespace cac;
using namespace cac::test;
using namespace std::chrono_literals;

namespace {

CK_TOKEN_INFO token_info(const std::string& label, const std::string& serial) {
    CK_TOKEN_INFO info{};
    set_field(info.label, label);
    set_field(info.manufacturerID, "piv_II");
    set_field(info.model, "PKCS#15 emulated");
    set_field(info.serialNumber, serial);
    info.flags = CKF_TOKEN_INITIALIZED;
    return info;
}

// Each C_GetSlotList(CK_TRUE) call answers the next entry of `rounds` (the last one
// repeats): the slots holding a token then, with the serial of the token in each.
struct SlotRounds {
    std::vector<std::map<CK_SLOT_ID, std::string>> rounds;
    std::size_t round = 0;  // C_GetSlotList size queries so far
    std::size_t lists = 0;

    // A round begins with the size query of C_GetSlotList.
    const std::map<CK_SLOT_ID, std::string>& now() const {
        return rounds[std::min(round == 0 ? 0 : round - 1, rounds.size() - 1)];
    }

    void install(FakeModule& fake) {
        fake.get_slot_list = [this](CK_BBOOL, CK_SLOT_ID* list, CK_ULONG* count) {
            if (list == nullptr) {
                ++round;
                ++lists;
                *count = now().size();
                return CKR_OK;
            }
            CK_ULONG i = 0;
            for (const auto& [id, serial] : now())
                list[i++] = id;
            *count = i;
            return CKR_OK;
        };
        fake.get_slot_info = [](CK_SLOT_ID, CK_SLOT_INFO* info) {
            *info = {};
            set_field(info->slotDescription, "Virtual PCD 00 00");
            info->flags = CKF_TOKEN_PRESENT | CKF_REMOVABLE_DEVICE;
            return CKR_OK;
        };
        fake.get_token_info = [this](CK_SLOT_ID id, CK_TOKEN_INFO* info) {
            auto it = now().find(id);
            if (it == now().end())
                return CKR_TOKEN_NOT_PRESENT;
            *info = token_info("PIV_II", it->second);
            return CKR_OK;
        };
    }
};

const Error removed(ErrorDomain::pkcs11, CKR_DEVICE_REMOVED, "C_GetAttributeValue");

// A module with the token "PIV_II" serial 00112233 last seen in slot 1, and a recoverer
// for it whose waits are only counted.
struct Fixture {
    FakeModule fake;
    SlotRounds slots;
    Module module = Module::adopt(&fake.list, "fake");
    std::optional<TokenRecoverer> recoverer;
    std::vector<std::chrono::milliseconds> slept;

    explicit Fixture(std::vector<std::map<CK_SLOT_ID, std::string>> rounds, bool init = false) {
        slots.rounds = std::move(rounds);
        slots.install(fake);
        if (init)
            module.initialize();
        recoverer.emplace(module, 1, decode_token_info(token_info("PIV_II", "00112233")));
        recoverer->set_sleeper([this](std::chrono::milliseconds d) { slept.push_back(d); }, 200ms);
    }
};

}  // namespace

TEST_CASE("the token is waited for and found again in another slot") {
    // Gone for two looks, then back in slot 4.
    Fixture f({{}, {}, {{4, "00112233"}}});
    REQUIRE(f.recoverer->can(RecoveryAction::reopen_session));
    (void)f.recoverer->session();
    f.recoverer->recover(RecoveryAction::reopen_session, removed,
                         std::chrono::steady_clock::now() + 10s);
    CHECK(f.recoverer->slot() == 4);
    CHECK(f.slept.size() == 2);
    CHECK(f.fake.count("C_CloseSession") == 1);  // the old session
    // The new session is opened by the next use, in the slot the token came back to.
    CHECK(f.fake.count("C_OpenSession") == 1);
    (void)f.recoverer->session();
    CHECK(f.fake.count("C_OpenSession") == 2);
}

TEST_CASE("another card in the same slot is not taken for the token") {
    Fixture f({{{1, "99999999"}}});
    try {
        f.recoverer->recover(RecoveryAction::reopen_session, removed,
                             std::chrono::steady_clock::now() + 1s);
        FAIL("the other card was taken");
    } catch (const Error& e) {
        CHECK(e.is(ErrorDomain::pkcs11, CKR_TOKEN_NOT_PRESENT));
    }
    CHECK(f.slots.lists >= 1);
}

TEST_CASE("a logged-in session is not recovered; a plain retry still is") {
    Fixture f({{{1, "00112233"}}});
    f.recoverer->logged_in();
    CHECK_FALSE(f.recoverer->can(RecoveryAction::reopen_session));
    CHECK_FALSE(f.recoverer->can(RecoveryAction::reinitialize_module));
    CHECK(f.recoverer->can(RecoveryAction::retry));
    CHECK_FALSE(f.recoverer->can(RecoveryAction::reestablish_context));
}

TEST_CASE("initialising the module again finalises it first") {
    Fixture f({{{1, "00112233"}}}, true);
    f.recoverer->recover(RecoveryAction::reinitialize_module,
                         Error(ErrorDomain::pkcs11, CKR_CRYPTOKI_NOT_INITIALIZED, "C_FindObjects"),
                         std::chrono::steady_clock::now() + 1s);
    CHECK(f.fake.count("C_Finalize") == 1);
    CHECK(f.fake.count("C_Initialize") == 2);
    CHECK(f.recoverer->slot() == 1);
}
