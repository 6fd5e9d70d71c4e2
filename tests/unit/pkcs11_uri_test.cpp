#include <doctest/doctest.h>

#include "core/pkcs11/uri.hpp"
#include "pkcs11_fake.hpp"

using namespace cac;
using namespace cac::test;

namespace {

enum class Pad { right, left, nul };

CK_TOKEN_INFO token_info(const std::string& label, Pad pad) {
    CK_TOKEN_INFO info{};
    if (pad == Pad::left)
        set_field_left_padded(info.label, label);
    else
        set_field(info.label, label, pad == Pad::nul ? '\0' : ' ');
    set_field(info.manufacturerID, "piv_II");
    set_field(info.model, "PKCS#15 emulated");
    set_field(info.serialNumber, "00112233", '\0');
    return info;
}

Slot slot_with(CK_SLOT_ID id, const std::string& label, Pad pad = Pad::right) {
    Slot slot;
    slot.id = id;
    CK_SLOT_INFO raw{};
    set_field(raw.slotDescription, "Reader " + std::to_string(id));
    set_field(raw.manufacturerID, "OpenSC Project");
    raw.flags = CKF_TOKEN_PRESENT;
    slot.info = decode_slot_info(raw);
    slot.token = decode_token_info(token_info(label, pad));
    return slot;
}

Slot empty_slot(CK_SLOT_ID id) {
    Slot slot;
    slot.id = id;
    slot.info = decode_slot_info(CK_SLOT_INFO{});
    return slot;
}

}  // namespace

TEST_CASE("a token URI matches labels however the module padded them") {
    TokenUri uri = TokenUri::parse("pkcs11:token=PIV%20Card;serial=00112233");
    for (Pad pad : {Pad::right, Pad::left, Pad::nul}) {
        CAPTURE(int(pad));
        CHECK(uri.matches(slot_with(0, "PIV Card", pad)));
        CHECK_FALSE(uri.matches(slot_with(0, "PIV Card 2", pad)));
    }
}

TEST_CASE("a URI's slot and library attributes are matched too") {
    CK_INFO module{};
    set_field(module.manufacturerID, "OpenSC Project");
    CHECK(TokenUri::parse("pkcs11:slot-id=4;token=A").matches(slot_with(4, "A")));
    CHECK_FALSE(TokenUri::parse("pkcs11:slot-id=4;token=A").matches(slot_with(5, "A")));
    CHECK(TokenUri::parse("pkcs11:slot-description=Reader%205").matches(slot_with(5, "A")));
    CHECK(TokenUri::parse("pkcs11:library-manufacturer=OpenSC%20Project;token=A")
              .matches(slot_with(1, "A"), &module));
    CHECK_FALSE(TokenUri::parse("pkcs11:library-manufacturer=Other;token=A")
                    .matches(slot_with(1, "A"), &module));
    CHECK_FALSE(TokenUri::parse("pkcs11:token=A").matches(empty_slot(1)));
}

TEST_CASE("a malformed URI is a usage error with p11-kit's message") {
    try {
        (void)TokenUri::parse("pkcs11:token=%zz");
        FAIL("no error");
    } catch (const Error& error) {
        CHECK(error.is(CoreCode::usage));
        CHECK(error.reason().find(p11_kit_uri_message(P11_KIT_URI_BAD_ENCODING)) !=
              std::string::npos);
    }
    std::vector<Slot> slots = {slot_with(0, "A")};
    CHECK_THROWS_AS((void)select_token(slots, {std::nullopt, "pkcs11:token=%zz"}), Error);
}

TEST_CASE("a URI carrying a PIN is refused without echoing it") {
    const char* uris[] = {
        "pkcs11:token=x?pin-value=SECRET",   "pkcs11:token=x;pin-value=SECRET",
        "pkcs11:token=x?PIN-VALUE=SECRET",   "PKCS11:Pin-Value=SECRET;token=x",
        "pkcs11:token=x%2?pin-value=SECRET", "pkcs11:token=x?pin-source=file:/p&pin%2Dvalue=SECRET",
        "pkcs11:token=x&pin-value=SECRET",
    };
    std::vector<Slot> slots = {slot_with(0, "x")};
    for (const char* uri : uris) {
        CAPTURE(uri);
        for (int via_select = 0; via_select < 2; ++via_select) {
            try {
                if (via_select)
                    (void)select_token(slots, {std::nullopt, uri});
                else
                    (void)TokenUri::parse(uri);
                FAIL("no error");
            } catch (const Error& error) {
                CHECK(error.is(CoreCode::usage));
                std::string all = error.message() + error.what() + error.hint();
                CHECK(all.find("SECRET") == std::string::npos);
                CHECK(all.find("token=x") == std::string::npos);
                CHECK(all.find("pin-value") != std::string::npos);
                for (const char* option : {"--pin-stdin", "--pin-env", "--pin-file"})
                    CHECK(error.hint().find(option) != std::string::npos);
            }
        }
    }
    // pin-source names a file, not a PIN: accepted.
    CHECK(TokenUri::parse("pkcs11:token=x?pin-source=file:/etc/pin").matches(slots[0]));
}

TEST_CASE("a URI named in a message has its pin-value masked and nothing else") {
    CHECK(masked_uri_text("pkcs11:token=x?pin-value=SECRET") ==
          "pkcs11:token=x?pin-value=<masked>");
    CHECK(masked_uri_text("PKCS11:Pin-Value=12&34;token=a") == "PKCS11:Pin-Value=<masked>;token=a");
    CHECK(masked_uri_text("pkcs11:?pin-source=file:/p&pin-value=1;2?3&module-name=m") ==
          "pkcs11:?pin-source=file:/p&pin-value=<masked>&module-name=m");
    CHECK(masked_uri_text("pkcs11:token=a&pin-value=S;model=m?pin-value=T") ==
          "pkcs11:token=a&pin-value=<masked>;model=m?pin-value=<masked>");
    CHECK(masked_uri_text("pkcs11:pin%2dvalue=S") == "pkcs11:pin%2dvalue=<masked>");
    CHECK(masked_uri_text("pkcs11:pin-value=") == "pkcs11:pin-value=<masked>");
    for (const char* unchanged : {"pkcs11:", "pkcs11:token=a;serial=1?pin-source=f", "PIV_II",
                                  "pkcs11:token=pin-value", "pkcs11:pin-values=1", ""}) {
        CHECK(masked_uri_text(unchanged) == unchanged);
    }
}

TEST_CASE("a malformed URI's error names it, masked") {
    try {
        (void)TokenUri::parse("pkcs11:token=x%2");
        FAIL("no error");
    } catch (const Error& error) {
        CHECK(error.is(CoreCode::usage));
        CHECK(error.reason().find("pkcs11:token=x%2") != std::string::npos);
    }
}

TEST_CASE("tokens are selected by slot id, trimmed label or URI") {
    std::vector<Slot> slots = {empty_slot(0), slot_with(1, "PIV_II", Pad::left),
                               slot_with(2, "SoftHSM token", Pad::nul)};
    CHECK(select_token(slots, {}).id == 1);
    CHECK(select_token(slots, {2, ""}).id == 2);
    CHECK(select_token(slots, {std::nullopt, " SoftHSM token "}).id == 2);
    CHECK(select_token(slots, {std::nullopt, "pkcs11:token=PIV_II"}).id == 1);
    CHECK(select_token(slots, {1, "PIV_II"}).id == 1);
}

TEST_CASE("every token a selector fits is returned, in slot order") {
    std::vector<Slot> slots = {slot_with(0, "PIV_II"), empty_slot(1), slot_with(2, "SoftHSM"),
                               slot_with(3, "PIV_II")};
    auto ids = [&slots](TokenSelector selector) {
        std::vector<CK_SLOT_ID> found;
        for (const Slot* slot : matching_tokens(slots, selector))
            found.push_back(slot->id);
        return found;
    };
    using Ids = std::vector<CK_SLOT_ID>;
    CHECK(ids({}) == Ids{0, 2, 3});
    CHECK(ids({std::nullopt, "pkcs11:"}) == Ids{0, 2, 3});
    // token_info() gives every token this model.
    CHECK(ids({std::nullopt, "pkcs11:model=PKCS%2315%20emulated"}) == Ids{0, 2, 3});
    CHECK(ids({std::nullopt, "PIV_II"}) == Ids{0, 3});
    CHECK(ids({std::nullopt, "pkcs11:token=PIV_II"}) == Ids{0, 3});
    CHECK(ids({3, "PIV_II"}) == Ids{3});
    CHECK(ids({1, ""}).empty());
    CHECK(ids({std::nullopt, "CAC"}).empty());
    // select_token keeps the first; choosing among several is the caller's policy.
    CHECK(select_token(slots, {std::nullopt, "pkcs11:token=PIV_II"}).id == 0);
    CHECK_THROWS_AS((void)matching_tokens(slots, {std::nullopt, "pkcs11:token=%zz"}), Error);
}

TEST_CASE("a URI may repeat no path attribute, whatever the letter case") {
    for (const char* uri :
         {"pkcs11:token=a;token=b", "pkcs11:token=a;TOKEN=b", "pkcs11:serial=1;model=m;Serial=2",
          "pkcs11:tok%65n=a;token=b", "pkcs11:token=a?pin-source=f&pin-source=g"}) {
        CAPTURE(uri);
        try {
            (void)TokenUri::parse(uri);
            FAIL("no error");
        } catch (const Error& error) {
            CHECK(error.is(CoreCode::usage));
            CHECK(error.reason().find("more than once") != std::string::npos);
        }
    }
    // Vendor query attributes may repeat (RFC 7512 section 2.3).
    CHECK_NOTHROW((void)TokenUri::parse("pkcs11:token=a?x-tag=1&x-tag=2"));
}

TEST_CASE("the scheme and attribute names are read in any letter case") {
    std::vector<Slot> slots = {slot_with(0, "SoftHSM"), slot_with(1, "PIV_II")};
    CHECK(select_token(slots, {std::nullopt, "PKCS11:token=PIV_II"}).id == 1);
    CHECK(select_token(slots, {std::nullopt, "Pkcs11:Token=PIV_II;SERIAL=00112233"}).id == 1);
    CHECK(select_token(slots, {std::nullopt, "pkcs11:tok%65n=PIV_II"}).id == 1);
    // Values keep their case, and a ';' or '&' in a value stays in it.
    CHECK_FALSE(TokenUri::parse("pkcs11:token=piv_ii").matches(slots[1]));
    CHECK(TokenUri::parse("pkcs11:token=A&B").matches(slot_with(2, "A&B")));
    CHECK(TokenUri::parse("pkcs11:token=A%3BB").matches(slot_with(2, "A;B")));
}

TEST_CASE("no match is not_found, naming what is there") {
    std::vector<Slot> slots = {empty_slot(0), slot_with(1, "PIV_II")};
    for (TokenSelector selector : {TokenSelector{std::nullopt, "CAC"}, TokenSelector{0, ""},
                                   TokenSelector{9, ""}, TokenSelector{2, "PIV_II"}}) {
        try {
            (void)select_token(slots, selector);
            FAIL("no error");
        } catch (const Error& error) {
            CHECK(error.is(CoreCode::not_found));
            CHECK(error.reason().find("slot 1 \"PIV_II\"") != std::string::npos);
            CHECK(error.reason().find("slot 0 (no token)") != std::string::npos);
        }
    }
    CHECK_THROWS_AS((void)select_token({}, {}), Error);
    try {
        (void)select_token(slots, {std::nullopt, "pkcs11:token=CAC;serial=1"});
        FAIL("no error");
    } catch (const Error& error) {
        CHECK(error.reason().find("no token pkcs11:token=CAC;serial=1;") != std::string::npos);
    }
}

TEST_CASE("a chosen slot whose token cannot be read reports the slot's own error") {
    Slot broken = empty_slot(3);
    broken.error = Error(ErrorDomain::pkcs11, CKR_TOKEN_NOT_RECOGNIZED, "C_GetTokenInfo");
    std::vector<Slot> slots = {broken};
    try {
        (void)select_token(slots, {3, ""});
        FAIL("no error");
    } catch (const Error& error) {
        CHECK(error.is(ErrorDomain::pkcs11, CKR_TOKEN_NOT_RECOGNIZED));
    }
}

TEST_CASE("token and object URIs keep the module's bytes, with NUL padding blanked") {
    for (Pad pad : {Pad::right, Pad::nul}) {
        CK_TOKEN_INFO info = token_info("PIV Card", pad);
        CHECK(token_uri(info) ==
              "pkcs11:model=PKCS%2315%20emulated;manufacturer=piv_II;serial=00112233;"
              "token=PIV%20Card");
    }
    // Leading blanks are part of what p11tool matches; RFC 7512 percent-encodes them.
    CK_TOKEN_INFO left = token_info("PIV Card", Pad::left);
    std::string printed = token_uri(left);
    CHECK(printed.find(";token=%20%20") != std::string::npos);
    std::vector<Slot> slots = {slot_with(0, "PIV Card", Pad::left)};
    CHECK(&select_token(slots, {std::nullopt, printed}) == &slots[0]);
    CK_TOKEN_INFO info = token_info("PIV Card", Pad::right);
    const std::uint8_t id[] = {0x01, 0xab};
    std::string uri =
        object_uri(info, id, "Certificate for PIV Authentication", ObjectType::certificate);
    CHECK(uri ==
          "pkcs11:model=PKCS%2315%20emulated;manufacturer=piv_II;serial=00112233;"
          "token=PIV%20Card;id=%01%AB;object=Certificate%20for%20PIV%20Authentication;type=cert");
    CHECK(object_uri(info, {}, "", ObjectType::private_key).ends_with(";type=private"));
}
