// BER-TLV: encodings written out from X.690 8.1 by hand, and real PIV objects from
// tests/data/03-piv-cac-objects whose layout the accompanying .txt files annotate.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/apdu/tlv.hpp"

using namespace cac;

namespace {

const std::filesystem::path objects_dir =
    std::filesystem::path(CACTOOL_TESTDATA) / "03-piv-cac-objects";

Bytes read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

Bytes hex(const std::string& text) {
    return *parse_hex(text);
}

}  // namespace

TEST_CASE("lengths in short and long form, tags of several bytes") {
    // 5F C1 05 is one tag (1F low bits, then a byte with bit 8 set, then one without).
    TlvDocument doc = parse_tlv(hex("5FC105 03 010203"));
    REQUIRE(doc.nodes.size() == 1);
    CHECK(doc.nodes[0].tag == 0x5FC105);
    CHECK(doc.nodes[0].header_size == 4);
    CHECK(doc.nodes[0].value == Bytes{1, 2, 3});
    CHECK(doc.issues.empty());
    // 81 80: a 128-byte value; 82 01 00: 256 bytes.
    Bytes long_value(128, 0x55);
    Bytes encoded = hex("04 81 80");
    encoded.insert(encoded.end(), long_value.begin(), long_value.end());
    CHECK(encode_tlv(TlvNode::primitive(0x04, long_value)) == encoded);
    CHECK(parse_tlv(encoded).nodes.at(0).value == long_value);
    Bytes v256(256, 1);
    Bytes e256 = encode_tlv(TlvNode::primitive(0x04, v256));
    CHECK(Bytes(e256.begin(), e256.begin() + 4) == hex("04 82 01 00"));
}

TEST_CASE("round trip of a nested tree") {
    TlvNode tree = TlvNode::nest(
        0x7C, {TlvNode::primitive(0x82, {}), TlvNode::primitive(0x81, Bytes(200, 0xA5))});
    Bytes bytes = encode_tlv(tree);
    // 7C 81 CD { 82 00, 81 81 C8 <200 bytes> }: 2 + 3 + 200 = 205 value bytes
    CHECK(Bytes(bytes.begin(), bytes.begin() + 8) == hex("7C 81 CD 82 00 81 81 C8"));
    TlvDocument doc = parse_tlv(bytes);
    REQUIRE(doc.nodes.size() == 1);
    CHECK(doc.nodes[0].constructed);
    CHECK(doc.nodes[0].children.size() == 2);
    CHECK(encode_tlv(doc.nodes) == bytes);
    CHECK_THROWS(encode_tlv(TlvNode::primitive(0x1F, {})));  // a first byte that needs more
}

TEST_CASE("overruns, indefinite lengths and long tags are errors with offsets") {
    TlvDocument overrun = parse_tlv(hex("01 01 AA 53 05 01 02"));
    CHECK(overrun.nodes.size() == 1);
    REQUIRE(overrun.issues.size() == 1);
    CHECK(overrun.issues[0].error);
    CHECK(overrun.issues[0].offset == 3);
    CHECK(overrun.issues[0].what.find("says 5 value bytes but only 2 remain") != std::string::npos);

    TlvDocument indefinite = parse_tlv(hex("30 80 01 01 00 00 00"));
    REQUIRE(indefinite.issues.size() == 1);
    CHECK(indefinite.issues[0].offset == 0);
    CHECK(indefinite.issues[0].what.find("indefinite") != std::string::npos);

    CHECK(parse_tlv(hex("5F FF FF FF 01 00")).issues.at(0).what.find("longer than 4") !=
          std::string::npos);
    CHECK(parse_tlv(hex("04 85 00 00 00 00 01")).has_errors());
    CHECK(parse_tlv(hex("5F")).issues.at(0).what.find("cut short") != std::string::npos);
    CHECK(parse_tlv(hex("04")).issues.at(0).what.find("no length") != std::string::npos);
}

TEST_CASE("a constructed tag whose value is not TLV keeps its bytes with a warning") {
    // A0 is context-specific constructed; its value 01 05 overruns, so it stays bytes.
    TlvDocument doc = parse_tlv(hex("A0 02 01 05"));
    REQUIRE(doc.nodes.size() == 1);
    CHECK_FALSE(doc.nodes[0].constructed);
    CHECK(doc.nodes[0].value == hex("01 05"));
    REQUIRE(doc.issues.size() == 1);
    CHECK_FALSE(doc.issues[0].error);
}

TEST_CASE("nesting deeper than the limit stays as bytes") {
    Bytes bytes = hex("04 00");
    for (int i = 0; i < 40; ++i)
        bytes = encode_tlv(TlvNode::primitive(0xA1, bytes));
    TlvDocument doc = parse_tlv(bytes);
    CHECK_FALSE(doc.has_errors());
    REQUIRE(doc.issues.size() == 1);
    CHECK(doc.issues[0].what.find("deeper than 16") != std::string::npos);
    TlvOptions small;
    small.max_size = 10;
    CHECK(parse_tlv(bytes, small).has_errors());
}

TEST_CASE("every PIV object in the test data parses without error") {
    int files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(objects_dir)) {
        if (entry.path().extension() != ".bin")
            continue;
        INFO(entry.path().filename().string());
        Bytes bytes = read_file(entry.path());
        TlvDocument doc = parse_tlv(bytes);
        CHECK_FALSE(doc.has_errors());
        CHECK(encode_tlv(doc.nodes).size() <= bytes.size());
        ++files;
    }
    CHECK(files >= 27);
}

TEST_CASE("certificate containers: 53 { 70 certificate, 71 CertInfo, FE }") {
    auto dir = objects_dir / "constructed-cert-containers";
    Bytes plain = read_file(dir / "card46_piv_auth_9A_5FC105_uncompressed.bin");
    TlvDocument doc = parse_tlv(plain);
    REQUIRE(doc.nodes.size() == 1);
    CHECK(doc.nodes[0].tag == 0x53);
    const TlvNode* cert = doc.find(0x70);
    REQUIRE(cert != nullptr);
    CHECK_FALSE(cert->constructed);  // a DER certificate, shown as bytes
    // The DER SEQUENCE's own header (30 82 hi lo) accounts for the whole value.
    REQUIRE(cert->value.size() > 4);
    CHECK(cert->value[0] == 0x30);
    CHECK(cert->value[1] == 0x82);
    CHECK(std::size_t(cert->value[2] << 8 | cert->value[3]) + 4 == cert->value.size());
    REQUIRE(doc.find(0x71) != nullptr);
    CHECK(doc.find(0x71)->value == Bytes{0x00});
    REQUIRE(doc.find(0xFE) != nullptr);
    // The parsed tree encodes back to the file byte for byte (minimal lengths there too).
    CHECK(encode_tlv(doc.nodes) == plain);

    TlvDocument gz = parse_tlv(read_file(dir / "card46_piv_auth_9A_5FC105_gzip.bin"));
    REQUIRE(gz.find(0x70) != nullptr);
    CHECK(Bytes(gz.find(0x70)->value.begin(), gz.find(0x70)->value.begin() + 2) ==
          hex("1F 8B"));  // gzip magic
    CHECK(gz.find(0x71)->value == Bytes{0x01});
}

TEST_CASE("CHUID, discovery, key history and CCC name their tags") {
    auto cards = objects_dir / "icam-test-cards";
    TlvDocument chuid =
        parse_tlv(read_file(cards / "card46-golden-fips201-2-piv/chuid_5FC102.bin"));
    REQUIRE(chuid.find(0x30) != nullptr);
    CHECK(chuid.find(0x30)->value.size() == 25);  // FASC-N: 25 bytes, never nested
    CHECK(chuid.find(0x34)->value.size() == 16);  // GUID
    CHECK(chuid.find(0x35)->value.size() == 8);   // expiration date YYYYMMDD
    CHECK(chuid.find(0x3E) != nullptr);
    CHECK(tag_name(0x30, 0) == "FASC-N");
    CHECK(tag_name(0x3E, 0x53) == "Issuer Asymmetric Signature");

    TlvDocument discovery =
        parse_tlv(read_file(objects_dir / "icam-test-cards/discovery-object-variants/"
                                          "card28_discovery_6020_global_pin_primary.bin"));
    REQUIRE(discovery.nodes.size() == 1);
    CHECK(discovery.nodes[0].tag == 0x7E);
    CHECK(discovery.find(0x4F)->value == hex("A0 00 00 03 08 00 00 10 00 01 00"));
    CHECK(discovery.find(0x5F2F)->value == hex("60 20"));

    TlvDocument history =
        parse_tlv(read_file(cards / "card37-golden-piv-pps/key_history_5FC10C.bin"));
    CHECK(history.find(0xC1)->value == Bytes{0x05});
    CHECK(history.find(0xC2)->value == Bytes{0x00});

    TlvDocument ccc = parse_tlv(read_file(cards / "card37-golden-piv-pps/ccc_5FC107.bin"));
    REQUIRE(ccc.find(0xF0) != nullptr);
    CHECK(ccc.find(0xF0)->value.size() == 21);
    CHECK(ccc.find(0xF6)->value.size() == 17);
}

TEST_CASE("SELECT answers: application property templates") {
    // NIST's 2006 demo card: 61 then a 7F66 template after it.
    TlvDocument demo = parse_tlv(
        hex("61 39 4F 0B A0 00 00 03 08 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08 50 0E 49 44"
            "2D 4F 6E 65 20 50 49 56 20 42 49 4F 5F 50 10 77 77 77 2E 6F 62 65 72 74 68 75 72 2E"
            "63 6F 6D 7F 66 08 02 02 80 00 02 02 80 00"));
    CHECK(demo.issues.empty());
    REQUIRE(demo.nodes.size() == 2);
    CHECK(demo.nodes[1].tag == 0x7F66);
    const TlvNode* label = demo.find(0x50);
    REQUIRE(label != nullptr);
    CHECK(std::string(label->value.begin(), label->value.end()) == "ID-One PIV BIO");
    CHECK(tag_name(0x50, 0x61) == "Application label");

    // PivApplet 0.8.2 wrote a 128-byte template with length byte 80 (indefinite).
    TlvDocument broken = parse_tlv(hex("61 80 4F 0B A0 00 00 03 08 00 00 10 00 01 00"));
    CHECK(broken.has_errors());
    CHECK(broken.issues.at(0).offset == 0);
}

TEST_CASE("JSON rendering: tag, name, length, value or children") {
    TlvDocument doc = parse_tlv(hex("53 07 5C 03 5F C1 05 FE 00"));
    nlohmann::json j = tlv_to_json(doc);
    CHECK(j["issues"].empty());
    const auto& top = j["nodes"][0];
    CHECK(top["tag"] == "53");
    CHECK(top["name"] == "PIV data object");
    CHECK(top["length"] == 7);
    CHECK(top["children"][0]["tag"] == "5C");
    CHECK(top["children"][0]["value"] == "5fc105");
    CHECK(top["children"][0]["object"] == "X.509 Certificate for PIV Authentication");
    CHECK(top["children"][1]["name"] == "Error Detection Code");
    nlohmann::json bad = tlv_to_json(parse_tlv(hex("53 05 01")));
    CHECK(bad["issues"][0]["severity"] == "error");
    CHECK(bad["issues"][0]["offset"] == 0);
}

TEST_CASE("PIV object names (SP 800-73-4 part 1 table 3)") {
    CHECK(piv_object_name(0x5FC102) == "Card Holder Unique Identifier");
    CHECK(piv_object_name(0x5FC10D) == "Retired X.509 Certificate for Key Management 1");
    CHECK(piv_object_name(0x5FC120) == "Retired X.509 Certificate for Key Management 20");
    CHECK(piv_object_name(0x7E) == "Discovery Object");
    CHECK(piv_object_name(0x5FC1FF).empty());
}

TEST_CASE("CAC GET PROPERTIES answers with the CAC names") {
    // From the CCC applet of a CAC: 01 applet information, 40 objects, 50 { 41, 42 }.
    TlvOptions cac;
    cac.family = TagFamily::cac;
    TlvDocument doc = parse_tlv(hex("01 05 10 02 06 02 03 40 01 01 50 0B 41 02 DB 00 42 05 00 F6 "
                                    "00 04 02"),
                                cac);
    CHECK(doc.issues.empty());
    REQUIRE(doc.nodes.size() == 3);
    CHECK(doc.nodes[2].constructed);
    CHECK(doc.find(0x41)->value == hex("DB 00"));
    CHECK(tag_name(0x50, 0, TagFamily::cac) == "TV-buffer object");
}
