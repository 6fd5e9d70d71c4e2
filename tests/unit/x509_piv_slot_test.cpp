// Expected key references come from NIST SP 800-73-4 Part 1 Table 4b and from the two
// modules' own documentation: OpenSC's PIV emulation (labels and IDs in the library's
// strings) and Yubico's YKCS11 key mapping table (IDs 1-4 -> 9a 9c 9d 9e, 5-24 -> 82-95,
// 25 -> f9).
#include <doctest/doctest.h>

#include <string>

#include "core/util/hex.hpp"
#include "core/x509/piv_slot.hpp"

using namespace cac;

namespace {

std::optional<std::uint8_t> by_label(const std::string& label) {
    return piv_key_reference({}, label);
}

std::optional<std::uint8_t> by_id(std::uint8_t id, PivModule module) {
    const Bytes bytes = {id};
    return piv_key_reference(bytes, "", module);
}

}  // namespace

TEST_CASE("OpenSC labels name the slot") {
    CHECK(by_label("Certificate for PIV Authentication") == 0x9A);
    CHECK(by_label("Certificate for Digital Signature") == 0x9C);
    CHECK(by_label("Certificate for Key Management") == 0x9D);
    CHECK(by_label("Certificate for Card Authentication") == 0x9E);
    CHECK(by_label("Retired Certificate for Key Management 1") == 0x82);
    CHECK(by_label("Retired Certificate for Key Management 20") == 0x95);
    CHECK(by_label("Retired X.509 Certificate for Key Management 7") == 0x88);
}

TEST_CASE("ykcs11 labels name the slot") {
    CHECK(by_label("X.509 Certificate for PIV Authentication") == 0x9A);
    CHECK(by_label("X.509 Certificate for Digital Signature") == 0x9C);
    CHECK(by_label("X.509 Certificate for Key Management") == 0x9D);
    CHECK(by_label("X.509 Certificate for Card Authentication") == 0x9E);
    CHECK(by_label("X.509 Certificate for Retired Key 1") == 0x82);
    CHECK(by_label("X.509 Certificate for Retired Key 20") == 0x95);
    CHECK(by_label("X.509 Certificate for PIV Attestation") == 0xF9);
    CHECK(by_label("X.509 Certificate for PIV Attestation 9c") == 0x9C);
}

TEST_CASE("labels that only look alike are not slots") {
    for (const char* label :
         {"", "Certificate", "Certificate for PIV Authentication ",
          "certificate for piv authentication", "Retired Key 1",
          "X.509 Certificate for Retired Key 0", "X.509 Certificate for Retired Key 21",
          "X.509 Certificate for Retired Key 01", "Retired Certificate for Key Management 1x",
          "X.509 Certificate for PIV Attestation zz"}) {
        INFO("label " << label);
        CHECK_FALSE(by_label(label).has_value());
    }
}

TEST_CASE("IDs both modules agree on") {
    for (PivModule module : {PivModule::unknown, PivModule::opensc, PivModule::ykcs11}) {
        CHECK(by_id(0x01, module) == 0x9A);
        CHECK(by_id(0x02, module) == 0x9C);
        CHECK(by_id(0x03, module) == 0x9D);
        CHECK(by_id(0x04, module) == 0x9E);
        CHECK(by_id(0x05, module) == 0x82);
        CHECK(by_id(0x09, module) == 0x86);
        CHECK_FALSE(by_id(0x00, module).has_value());
    }
}

TEST_CASE("retired key IDs follow the module's scheme") {
    // OpenSC: retired key 6 has the ID spelled "10", retired key 20 "24".
    CHECK(by_id(0x10, PivModule::opensc) == 0x87);
    CHECK(by_id(0x24, PivModule::opensc) == 0x95);
    CHECK_FALSE(by_id(0x0A, PivModule::opensc).has_value());
    CHECK_FALSE(by_id(0x25, PivModule::opensc).has_value());
    // ykcs11: binary 5..24, then 25 for the attestation key.
    CHECK(by_id(0x0A, PivModule::ykcs11) == 0x87);
    CHECK(by_id(0x10, PivModule::ykcs11) == 0x8D);
    CHECK(by_id(0x18, PivModule::ykcs11) == 0x95);
    CHECK(by_id(0x19, PivModule::ykcs11) == 0xF9);
    CHECK_FALSE(by_id(0x1A, PivModule::ykcs11).has_value());
    // Unknown module: where the schemes disagree, nothing is claimed.
    CHECK_FALSE(by_id(0x10, PivModule::unknown).has_value());
    CHECK_FALSE(by_id(0x0A, PivModule::unknown).has_value());
}

TEST_CASE("a label wins over an ID, and long IDs say nothing") {
    const Bytes id = {0x01};
    CHECK(piv_key_reference(id, "Certificate for Key Management") == 0x9D);
    CHECK(piv_key_reference(id, "my own label") == 0x9A);
    const Bytes long_id = {0x01, 0x02};
    CHECK_FALSE(piv_key_reference(long_id, "my own label").has_value());
}

TEST_CASE("module from the manufacturer ID") {
    CHECK(piv_module_from_manufacturer("OpenSC Project") == PivModule::opensc);
    CHECK(piv_module_from_manufacturer("Yubico (www.yubico.com)") == PivModule::ykcs11);
    CHECK(piv_module_from_manufacturer("SoftHSM") == PivModule::unknown);
}

TEST_CASE("slot names and purposes") {
    CHECK(piv_slot_name(0x9A) == "9a");
    CHECK(piv_slot_name(0x82) == "82");
    CHECK(piv_slot_name(0xF9) == "f9");
    CHECK(piv_slot_purpose(0x9A) == "PIV Authentication");
    CHECK(piv_slot_purpose(0x9E) == "Card Authentication");
    CHECK(piv_slot_purpose(0x95) == "Retired Key Management 20");
    CHECK(piv_slot_purpose(0xF9) == "Attestation");
    CHECK(piv_slot_purpose(0x00).empty());
}
