// The Discovery Object and the CHUID, read from the ICAM test cards and the public traces
// in tests/data/03-piv-cac-objects. Expected FASC-N fields are those the traces' own
// annotations give (decoded by their authors), and those SOURCES.md states for the ICAM
// cards; the PIN usage policy bits are SP 800-73-4 part 1 section 3.3.2's.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/piv/chuid.hpp"
#include "core/piv/discovery.hpp"
#include "core/util/error.hpp"

using namespace cac;

namespace {

const std::filesystem::path kIcam =
    std::filesystem::path(CACTOOL_TESTDATA) / "03-piv-cac-objects/icam-test-cards";

Bytes read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes hex(const std::string& text) {
    return *parse_hex(text);
}

piv::DiscoveryObject variant(const char* name) {
    return piv::parse_discovery(read_bytes(kIcam / "discovery-object-variants" / name));
}

// The completed CHUID of the G+D SCE 7.0 trace (gd_sce7_piv_session_trace.txt, B).
const char* kGdChuid =
    "53 3B 30 19 D4 E7 39 DA 73 9C ED 39 CE 73 9D A1 68 5A 08 C9 2A DE 0A 61 84 E7 39 C3 E2 34 10"
    "12 34 56 78 9A BC DE F0 12 34 56 78 9A BC DE F0 35 08 20 20 20 20 20 20 20 20 3E 00 FE 00";

}  // namespace

TEST_CASE("discovery: which PIN the ICAM cards ask for") {
    piv::DiscoveryObject app_only = variant("card26_discovery_4000_app_pin_only.bin");
    REQUIRE(app_only.policy);
    CHECK(app_only.aid == hex("A0 00 00 03 08 00 00 10 00 01 00"));
    CHECK(app_only.policy->application_pin());
    CHECK_FALSE(app_only.policy->global_pin());
    CHECK_FALSE(app_only.policy->global_pin_primary());

    piv::DiscoveryObject app_primary = variant("card27_discovery_6010_app_pin_primary.bin");
    REQUIRE(app_primary.policy);
    CHECK(app_primary.policy->global_pin());
    CHECK_FALSE(app_primary.policy->global_pin_primary());

    piv::DiscoveryObject global = variant("card28_discovery_6020_global_pin_primary.bin");
    REQUIRE(global.policy);
    CHECK(global.policy->global_pin_primary());
    CHECK(global.warnings.empty());

    piv::DiscoveryObject empty = variant("card25_discovery_empty_7E00.bin");
    CHECK_FALSE(empty.policy);
    CHECK(empty.warnings.size() == 1);
}

TEST_CASE("discovery: only bit 20 of the first byte decides, with 20 in the second") {
    auto primary = [](const char* policy) {
        Bytes object = hex("7E 12 4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02");
        Bytes p = hex(policy);
        object.insert(object.end(), p.begin(), p.end());
        piv::DiscoveryObject d = piv::parse_discovery(object);
        REQUIRE(d.policy);
        return d.policy->global_pin_primary();
    };
    CHECK(primary("68 20"));  // with the virtual contact interface
    CHECK(primary("60 20"));
    CHECK(primary("78 20"));  // with on-card comparison too
    CHECK_FALSE(primary("40 10"));
    CHECK_FALSE(primary("60 10"));
    CHECK_FALSE(primary("40 20"));  // 20 in the second byte, but no Global PIN
}

TEST_CASE("discovery: the value without its 7E reads the same; garbage is an error") {
    piv::DiscoveryObject d =
        piv::parse_discovery(hex("4F 0B A0 00 00 03 08 00 00 10 00 01 00 5F 2F 02 60 20"));
    REQUIRE(d.policy);
    CHECK(d.policy->first == 0x60);
    CHECK(d.policy->second == 0x20);
    piv::DiscoveryObject short_policy = piv::parse_discovery(hex("7E 04 5F 2F 01 60"));
    REQUIRE(short_policy.policy);
    CHECK(short_policy.policy->global_pin());
    CHECK_FALSE(short_policy.policy->global_pin_primary());
    CHECK(short_policy.warnings.size() == 1);
    CHECK_THROWS_AS((void)piv::parse_discovery(hex("7E 05 4F")), Error);
    CHECK_THROWS_AS((void)piv::parse_discovery(hex("4F 09 00")), Error);
}

TEST_CASE("FASC-N: the all-zero placeholder the OpenFIPS201 trace decodes") {
    // piv_select_aid_apt_responses.txt, entry 4: agency 0000, system 0000, credential
    // 000000, CS 0, ICI 1, PI 0000000000, OC 3, OI 0000, POA 1.
    piv::Fascn f = piv::decode_fascn(
        hex("D0 42 10 D8 21 08 6C 10 84 21 0D 83 68 58 21 08 42 10 84 21 C8 42 10 C3 EB"));
    CHECK(f.agency_code == "0000");
    CHECK(f.system_code == "0000");
    CHECK(f.credential_number == "000000");
    CHECK(f.credential_series == "0");
    CHECK(f.individual_credential_issue == "1");
    CHECK(f.person_identifier == "0000000000");
    CHECK(f.organizational_category == "3");
    CHECK(f.organizational_identifier == "0000");
    CHECK(f.person_association == "1");
    CHECK(f.digits() == "00000000000000010000000000300001");
}

TEST_CASE("FASC-N: damaged ones are refused with the reason") {
    Bytes good = hex("D0 42 10 D8 21 08 6C 10 84 21 0D 83 68 58 21 08 42 10 84 21 C8 42 10 C3 EB");
    auto reason = [](const Bytes& bytes) {
        try {
            (void)piv::decode_fascn(bytes);
        } catch (const Error& e) {
            return e.reason();
        }
        return std::string("decoded");
    };
    Bytes parity = good;
    parity[0] ^= 0x08;  // the first character's parity bit
    CHECK(reason(parity).find("parity") != std::string::npos);
    Bytes lrc = good;
    lrc[24] ^= 0x1E;  // the LRC's four data bits, its parity unchanged
    CHECK(reason(lrc).find("LRC") != std::string::npos);
    CHECK(reason(Bytes(good.begin(), good.end() - 1)).find("25") != std::string::npos);
}

TEST_CASE("CHUID of the G+D trace: blank expiration, empty signature") {
    piv::Chuid c = piv::parse_chuid(hex(kGdChuid));
    REQUIRE(c.fascn);
    // The trace's annotation: agency 9999, system 9999, credential 999999, CS 1, ICI 1,
    // PI 1234567890, OC 1, OI 9999, POA 1.
    CHECK(c.fascn->digits() == "99999999999999111234567890199991");
    CHECK(c.guid == hex("12 34 56 78 9A BC DE F0 12 34 56 78 9A BC DE F0"));
    CHECK(c.expiration == "        ");
    CHECK_FALSE(c.expiration_date);
    CHECK_FALSE(c.signature_present);
    bool said_unsigned = false;
    bool said_expiry = false;
    for (const std::string& w : c.warnings) {
        said_unsigned |= w.find("signature (3E) is empty") != std::string::npos;
        said_expiry |= w.find("expiration") != std::string::npos;
    }
    CHECK(said_unsigned);
    CHECK(said_expiry);
}

TEST_CASE("CHUID of ICAM card 46 (raw object, no 53) and card 02 (PIV-I)") {
    piv::Chuid c46 =
        piv::parse_chuid(read_bytes(kIcam / "card46-golden-fips201-2-piv/chuid_5FC102.bin"));
    REQUIRE(c46.fascn);
    // SOURCES.md: agency 4700, system 0257, credential 0000xx.
    CHECK(c46.fascn->agency_code == "4700");
    CHECK(c46.fascn->system_code == "0257");
    CHECK(c46.fascn->credential_number.substr(0, 4) == "0000");
    CHECK(c46.guid == hex("94 E2 8C 68 84 DB 44 DB 8A 0E F5 02 D6 68 9B 14"));
    CHECK(c46.expiration == "20321202");
    CHECK(c46.expiration_date == "2032-12-02");
    CHECK(c46.cardholder_uuid == hex("DB 17 53 91 47 49 4A 32 97 7D 7A 38 43 77 5E 8A"));
    CHECK(c46.signature_present);
    CHECK(c46.signature_length == 2115);
    CHECK(c46.warnings.empty());

    piv::Chuid c02 = piv::parse_chuid(read_bytes(kIcam / "card02-golden-piv-i/chuid_5FC102.bin"));
    REQUIRE(c02.fascn);
    CHECK(c02.fascn->agency_code == "9999");
    CHECK(c02.fascn->system_code == "9999");
    CHECK(c02.fascn->credential_number == "999999");
}

TEST_CASE("CHUID: a truncated object keeps what came before; 3D is tolerated") {
    Bytes whole = read_bytes(kIcam / "card46-golden-fips201-2-piv/chuid_5FC102.bin");
    Bytes cut(whole.begin(), whole.begin() + 200);  // inside the signature
    piv::Chuid c = piv::parse_chuid(cut);
    CHECK(c.fascn.has_value());
    CHECK(c.expiration == "20321202");
    bool truncated = false;
    for (const std::string& w : c.warnings)
        truncated |= w.find("truncated") != std::string::npos;
    CHECK(truncated);

    Bytes with_3d = hex(kGdChuid);
    with_3d[1] += 3;
    Bytes key_map = hex("3D 01 00");
    with_3d.insert(with_3d.end() - 2, key_map.begin(), key_map.end());
    piv::Chuid d = piv::parse_chuid(with_3d);
    CHECK(d.fascn.has_value());
    CHECK_THROWS_AS((void)piv::parse_chuid({}), Error);
}
