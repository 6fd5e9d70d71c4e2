// GCC 12 warns, wrongly, that std::regex's automaton copies an uninitialised
// std::function when it inlines it at -O2 with the sanitizers; the test's std::regex is
// the independent reading of smartcard_list.txt, so the warning is silenced for this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/card/atr.hpp"
#include "core/card/atr_identify.hpp"
#include "core/util/error.hpp"

using namespace cac;

namespace {

// pcsc-tools' list as the machine has it (Debian: package pcsc-tools, which CI installs);
// CACTOOL_SMARTCARD_LIST names another copy. It is read, not shipped with the project: it
// is pcsc-tools' own data, under its own licence.
std::string smartcard_list_path() {
    const char* given = std::getenv("CACTOOL_SMARTCARD_LIST");
    return given != nullptr ? given : std::string(default_smartcard_list);
}
const std::string list_path = smartcard_list_path();
const std::string tsv_path = std::string(CACTOOL_TESTDATA) + "/04-atr/cac_piv_atrs.tsv";

Bytes hex(std::string_view text) {
    std::optional<Bytes> bytes = parse_hex(text);
    REQUIRE(bytes.has_value());
    return *bytes;
}

std::vector<std::string> read_lines(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in.good());
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

bool is_pattern_line(const std::string& line) {
    return !line.empty() && line[0] != '#' && line[0] != '\t';
}

// A pattern made concrete: ".*" stands for one byte between others and for nothing at
// the end, a class stands for its first character,
// and every other wildcard nibble becomes 0.
std::string concrete(const std::string& pattern) {
    std::string text = std::regex_replace(pattern, std::regex(R"( \.\* )"), " 00 ");
    text = std::regex_replace(text, std::regex(R"(\.\*)"), "");
    text = std::regex_replace(text, std::regex(R"(\[(.)[^\]]*\])"), "$1");
    std::replace(text.begin(), text.end(), '.', '0');
    return text;
}

// What ISO/IEC 7816-3 clause 8 says about TCK, worked out here without the parser:
// walk the Y nibbles to the end of the interface bytes, add K, and TCK is the next byte
// when some TDi names a T other than 0.
struct TckExpectation {
    bool present = false;
    bool valid = false;
    std::size_t trailing = 0;
};

TckExpectation expect_tck(const Bytes& atr) {
    std::size_t end = 2;
    int y = atr[1] >> 4;
    bool needed = false;
    while (y != 0) {
        end += std::size_t(__builtin_popcount(unsigned(y)));
        if (!(y & 8))
            break;
        std::uint8_t td = atr.at(end - 1);
        needed = needed || (td & 0x0f) != 0;
        y = td >> 4;
    }
    std::size_t tck_at = end + (atr[1] & 0x0f);
    TckExpectation expected;
    expected.present = needed && tck_at < atr.size();
    std::size_t length = tck_at + (expected.present ? 1 : 0);
    expected.trailing = atr.size() > length ? atr.size() - length : 0;
    if (expected.present) {
        std::uint8_t sum = 0;
        for (std::size_t i = 1; i <= tck_at; ++i)
            sum ^= atr[i];
        expected.valid = sum == 0;
    }
    return expected;
}

bool has_warning(const Atr& atr, std::string_view text) {
    return std::any_of(atr.warnings.begin(), atr.warnings.end(),
                       [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

std::string parse_failure(const Bytes& bytes) {
    try {
        (void)parse_atr(bytes);
    } catch (const Error& e) {
        CHECK(e.is(CoreCode::parse_error));
        return e.reason();
    }
    return "";
}

}  // namespace

TEST_CASE("every ATR of smartcard_list.txt parses, with the TCK verdict of the standard") {
    int exact = 0;
    int concrete_count = 0;
    for (const std::string& line : read_lines(list_path)) {
        if (!is_pattern_line(line))
            continue;
        std::string text = concrete(line);
        (text == line ? exact : concrete_count) += 1;
        Bytes bytes = hex(text);
        CAPTURE(line);
        Atr atr = parse_atr(bytes);
        TckExpectation expected = expect_tck(bytes);
        CHECK(atr.tck.has_value() == expected.present);
        CHECK(atr.tck_valid.value_or(false) == expected.valid);
        CHECK(atr.trailing.size() == expected.trailing);
    }
    // Debian 12's pcsc-tools 1.6.2 has 3803 ATRs written out and 238 with wildcards, which
    // are checked in their concrete form; a newer list only has more.
    CHECK(exact >= 3803);
    CHECK(concrete_count >= 238);
}

TEST_CASE("a valid TCK followed by two bytes the ATR does not account for") {
    // T0 84: TD1 only, K = 4. TD1 80: TD2 follows, T=0. TD2 01: T=1, so TCK is required
    // and is the byte after the four historical bytes: 36, and 84^80^01^01^11^20^03^36
    // is 0. The 90 00 after it are beyond the ATR.
    Atr atr = parse_atr(hex("3B 84 80 01 01 11 20 03 36 90 00"));
    CHECK(atr.convention == Convention::direct);
    CHECK(atr.k == 4);
    CHECK(atr.protocols == std::vector<int>{0, 1});
    CHECK(atr.historical.raw == hex("01 11 20 03"));
    CHECK(atr.tck_required);
    CHECK(atr.tck == 0x36);
    CHECK(atr.tck_valid == true);
    CHECK(atr.trailing == hex("90 00"));
    CHECK(has_warning(atr, "2 bytes follow the end of the ATR at byte 9"));
}

TEST_CASE("T=1 indicated and the TCK missing is a warning") {
    Atr atr = parse_atr(hex("3B F0 11 00 FF 01"));
    REQUIRE(atr.groups.size() == 1);
    CHECK(atr.groups[0].ta == 0x11);
    CHECK(atr.groups[0].tb == 0x00);
    CHECK(atr.groups[0].tc == 0xff);
    CHECK(atr.groups[0].td == 0x01);
    CHECK(atr.groups[0].td_protocol() == 1);
    CHECK(atr.groups[0].next_y() == 0);
    CHECK(atr.protocols == std::vector<int>{1});
    CHECK(atr.extra_guard_time == 255);
    CHECK(atr.rates.fi == 372);
    CHECK(atr.rates.di == 1);
    CHECK(atr.tck_required);
    CHECK_FALSE(atr.tck.has_value());
    CHECK(atr.trailing.empty());
    CHECK(has_warning(atr, "TCK is missing"));
}

TEST_CASE("inverse convention with a compact-TLV object running into the status indicator") {
    // T0 6A: TB1 and TC1, K = 10, no TD1 so T=0 only and no TCK. Category 00: the last
    // three bytes (01 01 A9) are the status indicator; between them, 64 is tag 6 with four
    // bytes, then 82 announces two bytes where none remain before the status indicator.
    Atr atr = parse_atr(hex("3F 6A 00 00 00 64 01 50 01 0C 82 01 01 A9"));
    CHECK(atr.convention == Convention::inverse);
    CHECK(to_string(atr.convention) == "inverse");
    CHECK(atr.protocols == std::vector<int>{0});
    CHECK_FALSE(atr.tck_required);
    CHECK(atr.trailing.empty());
    CHECK(atr.historical.category == 0x00);
    CHECK(atr.historical.pre_issuing_data == hex("01 50 01 0C"));
    REQUIRE(atr.historical.status.has_value());
    CHECK(atr.historical.status->life_cycle == 0x01);
    CHECK(atr.historical.status->sw == 0x01a9);
    CHECK(has_warning(atr, "historical byte 6: compact-TLV object 8 announces 2 bytes, only 0"));
}

TEST_CASE("the NIST test PIV card's ATR decoded by hand") {
    // TA1 96: Fi 512 (f max 5 MHz), Di 32. TD1 81 and TD2 B1: T=1 twice; TA3 FE is the
    // IFSC, TB3 45 gives BWI 4 and CWI 5; TD3 1F: T=15 with TA4. The historical bytes are
    // category 80, card capabilities CC 91 CB (chaining, extended Lc/Le, 4 channels) and
    // the PIV application identifier under tag F.
    Atr atr =
        parse_atr(hex("3B DF 96 00 81 B1 FE 45 1F 83 80 73 CC 91 CB F9 A0 00 00 03 08 00 "
                      "00 10 00 79"));
    CHECK(atr.rates.fi == 512);
    CHECK(atr.rates.f_max_khz == 5000);
    CHECK(atr.rates.di == 32);
    CHECK(atr.protocols == std::vector<int>{1});
    CHECK(atr.has_t15);
    REQUIRE(atr.t1.has_value());
    CHECK(atr.t1->ifsc == 254);
    CHECK(atr.t1->bwi == 4);
    CHECK(atr.t1->cwi == 5);
    CHECK_FALSE(atr.t1->crc.has_value());
    REQUIRE(atr.groups.size() == 4);
    CHECK(atr.groups[3].protocol == 15);
    CHECK(atr.groups[3].ta == 0x83);
    REQUIRE(atr.historical.capabilities.has_value());
    CHECK(atr.historical.capabilities->command_chaining == true);
    CHECK(atr.historical.capabilities->extended_length == true);
    CHECK(atr.historical.capabilities->logical_channels == 4);
    REQUIRE(atr.historical.objects.size() == 2);
    CHECK(atr.historical.objects[1].tag == 0xf);
    CHECK(atr.historical.objects[1].value == hex("A0 00 00 03 08 00 00 10 00"));
    CHECK(atr.tck_valid == true);
    CHECK(atr.warnings.empty());
}

TEST_CASE("TA2 puts the card in specific mode") {
    // TD1 = 11 announces TA2 and T=1; TA2 = 11: b8 = 0 (the card can change mode), b5 = 1 (implicit
    // parameters), T=1.
    Atr atr = parse_atr(hex("3B 90 96 11 11 00"));
    REQUIRE(atr.specific_mode.has_value());
    CHECK(atr.specific_mode->protocol == 1);
    CHECK(atr.specific_mode->can_change);
    CHECK(atr.specific_mode->implicit_parameters);
    CHECK(atr.tck_valid == false);
    CHECK(has_warning(atr, "TCK 00 is wrong: 06 expected"));
}

TEST_CASE("ATRs that cannot be read name where they fail") {
    CHECK(parse_failure({}).find("byte 0: the ATR ends before T0") == 0);
    CHECK(parse_failure(hex("3B")).find("byte 1:") == 0);
    CHECK(parse_failure(Bytes(34, 0x3b)).find("byte 33: 34 bytes") == 0);
    CHECK(parse_failure(hex("3C 00")).find("byte 0: TS is 3c") == 0);
    // T0 F0 announces TA1..TD1; TD1 = 81 announces TD2, which is not there.
    CHECK(parse_failure(hex("3B F0 11 00 FF 81")) == "byte 6: the ATR ends where TD2 is announced");
}

TEST_CASE("fewer historical bytes than T0 announces is a warning") {
    Atr atr = parse_atr(hex("3B 04 60 89"));
    CHECK(atr.historical.raw == hex("60 89"));
    CHECK(has_warning(atr, "T0 announces 4 historical bytes, only 2 are present"));
}

TEST_CASE("CAC and PIV cards of the test data are known without smartcard_list.txt") {
    AtrIdentifier identifier("no-such-smartcard-list.txt");
    int rows = 0;
    for (const std::string& line : read_lines(tsv_path)) {
        if (line.empty() || line[0] == '#')
            continue;
        std::istringstream fields(line);
        std::string atr_field;
        std::string description;
        std::getline(fields, atr_field, '\t');
        std::getline(fields, description, '\t');
        CAPTURE(line);
        CardIdentity identity = identifier.identify(hex(atr_field));
        CHECK(identity.source == "builtin");
        REQUIRE(identity.identified_as.size() == 1);
        // Whatever the description calls the card, the type must include.
        std::string upper_description = description;
        std::transform(upper_description.begin(), upper_description.end(),
                       upper_description.begin(), ::toupper);
        if (upper_description.find("PIV-ONLY") != std::string::npos) {
            CHECK(identity.type == "piv");
        } else {
            if (upper_description.find("PIV") != std::string::npos)
                CHECK(identity.type.find("piv") != std::string::npos);
            if (upper_description.find("CAC") != std::string::npos)
                CHECK(identity.type.find("cac") != std::string::npos);
        }
        ++rows;
    }
    CHECK(rows == 68);
    // Known cards never needed the list; an unknown one tries it and says why it failed.
    CHECK(identifier.list_problem().empty());
    CHECK(identifier.identify(hex("3B 00")).source == "none");
    CHECK(identifier.list_problem().find("no-such-smartcard-list.txt") != std::string::npos);
}

namespace {

// smartcard_list.txt read with std::regex, the way pcsc-tools reads it with Perl: each
// pattern anchored at both ends and case-insensitive, every matching entry's lines.
struct RegexList {
    std::vector<std::pair<std::regex, std::vector<std::string>>> entries;

    RegexList() {
        std::vector<std::string> lines = read_lines(list_path);
        for (std::size_t i = 0; i < lines.size(); ++i) {
            if (!is_pattern_line(lines[i]))
                continue;
            std::vector<std::string> descriptions;
            for (std::size_t j = i + 1;
                 j < lines.size() && !lines[j].empty() && lines[j][0] == '\t'; ++j) {
                descriptions.push_back(lines[j].substr(1));
            }
            entries.emplace_back(std::regex("^" + lines[i] + "$", std::regex::icase), descriptions);
        }
    }

    std::vector<std::string> lookup(const std::string& atr_text) const {
        std::vector<std::string> found;
        for (const auto& [pattern, descriptions] : entries) {
            if (std::regex_match(atr_text, pattern))
                found.insert(found.end(), descriptions.begin(), descriptions.end());
        }
        return found;
    }
};

std::string spaced_upper(const Bytes& bytes) {
    std::string text;
    for (std::uint8_t b : bytes) {
        char buffer[4];
        std::snprintf(buffer, sizeof buffer, "%02X ", b);
        text += buffer;
    }
    text.pop_back();
    return text;
}

}  // namespace

TEST_CASE("smartcard_list.txt lookups agree with a regular-expression reading of the file") {
    SmartcardList list = SmartcardList::load(list_path);
    CHECK(list.entries() >= 4041);
    CHECK(list.unsupported() == 0);
    RegexList reference;
    // Every wildcard pattern made concrete, and every 25th written-out ATR.
    int exact_seen = 0;
    int checked = 0;
    for (const std::string& line : read_lines(list_path)) {
        if (!is_pattern_line(line))
            continue;
        std::string text = concrete(line);
        if (text == line && exact_seen++ % 25 != 0)
            continue;
        Bytes atr = hex(text);
        CAPTURE(line);
        std::vector<std::string> expected = reference.lookup(spaced_upper(atr));
        CHECK_FALSE(expected.empty());
        CHECK(list.lookup(atr) == expected);
        ++checked;
    }
    CHECK(checked > 300);
}

TEST_CASE("cards outside the built-in table are identified from smartcard_list.txt") {
    // This ATR is written out in one entry and matches the wildcards of an earlier one:
    // pcsc-tools reports both, in file order.
    std::vector<std::string> lines = read_lines(list_path);
    const char* atr_text = "3B FA 94 00 00 81 31 20 43 80 65 A2 01 01 01 3D 72 D6 43 21";
    auto exact = std::find(lines.begin(), lines.end(), atr_text);
    auto wildcard = std::find(lines.begin(), lines.end(),
                              "3B FA .. 00 00 81 31 .. 43 80 65 A2 .. .. .. .. 72 D6 .. ..");
    REQUIRE(exact != lines.end());
    REQUIRE(wildcard < exact);
    AtrIdentifier identifier(list_path);
    CardIdentity identity = identifier.identify(hex(atr_text));
    CHECK(identity.source == "smartcard_list");
    CHECK(identity.type == "other");
    CHECK(identity.identified_as ==
          std::vector<std::string>{wildcard[1].substr(1), exact[1].substr(1)});

    // A pattern with a character class: "3F 65 25 00 2[2C] 09 [F6]9 90 00".
    auto classed = std::find(lines.begin(), lines.end(), "3F 65 25 00 2[2C] 09 [F6]9 90 00");
    REQUIRE(classed != lines.end());
    identity = identifier.identify(hex("3F 65 25 00 2C 09 69 90 00"));
    CHECK(identity.source == "smartcard_list");
    CHECK(identity.identified_as.at(0) == classed[1].substr(1));
    CHECK(identifier.identify(hex("3F 65 25 00 2D 09 69 90 00")).source == "none");
}

TEST_CASE("a card announcing the PIV application is a PIV card even when no list knows it") {
    AtrIdentifier identifier("no-such-smartcard-list.txt");
    // Category 80, tag F with the PIV AID, T=0 only so no TCK.
    CardIdentity identity = identifier.identify(hex("3B 0C 80 FA A0 00 00 03 08 00 00 10 00 01"));
    CHECK(identity.type == "piv");
    CHECK(identity.source == "historical_bytes");
    CHECK(identifier.identify(hex("3B 00")).type == "unknown");
}
