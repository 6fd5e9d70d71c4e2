// The taxonomy against the headers this build compiles with: every CKR_* that p11-kit's
// pkcs11.h defines and every SCARD_* result that pcsc-lite's pcsclite.h defines has a row
// of its own, with a meaning, a category and a recovery action, at the header's value.
// The headers are read as text at test time, so a newer header with a new code fails
// here until the table learns it.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/apdu/status_words.hpp"
#include "core/util/error.hpp"

using namespace cac;

namespace {

struct Defined {
    std::string name;
    std::uint32_t value;
};

// `#define NAME (VALUE)` lines whose name starts with one of `prefixes`; the value is the
// first number on the line (pkcs11.h writes "(0x1b0UL)", pcsclite.h "((LONG)0x80100001)").
// Plain string work rather than std::regex, which GCC 12 warns about under the sanitizers.
std::vector<Defined> defines(const std::string& path, const std::vector<std::string>& prefixes) {
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot read " << path);
    std::vector<Defined> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string directive, name;
        words >> directive >> name;
        bool wanted = std::any_of(prefixes.begin(), prefixes.end(),
                                  [&](const std::string& p) { return name.starts_with(p); });
        if (directive != "#define" || !wanted)
            continue;
        std::string rest;
        std::getline(words, rest);
        std::size_t digit = rest.find_first_of("0123456789");
        if (digit == std::string::npos)
            continue;  // defined as another name
        out.push_back({name, std::uint32_t(std::stoul(rest.substr(digit), nullptr, 0))});
    }
    return out;
}

void check_rows(ErrorDomain domain, const std::vector<Defined>& codes) {
    for (const Defined& code : codes) {
        CAPTURE(code.name);
        TaxonomyEntry entry = lookup_taxonomy(domain, code.value);
        CHECK(entry.code == code.value);
        CHECK_FALSE(entry.name.empty());
        CHECK_FALSE(entry.meaning.empty());
        // One value may carry two names (pcsc-lite's SCARD_E_UNEXPECTED and
        // SCARD_E_UNSUPPORTED_FEATURE are both 0x8010001F); the row then has one of them.
        bool alias = false;
        for (const Defined& other : codes)
            alias = alias || (other.value == code.value && other.name == entry.name);
        CHECK(alias);
    }
}

}  // namespace

TEST_CASE("every CKR_* of pkcs11.h has a row") {
    std::vector<Defined> codes = defines(CACTOOL_PKCS11_H, {"CKR_"});
    // The vendor range's base is written as a shift, not a number; it is checked below.
    std::erase_if(codes, [](const Defined& d) { return d.name == "CKR_VENDOR_DEFINED"; });
    REQUIRE(codes.size() > 80);
    check_rows(ErrorDomain::pkcs11, codes);
}

TEST_CASE("vendor-defined CKR values get a generic row that keeps their value") {
    TaxonomyEntry entry = lookup_taxonomy(ErrorDomain::pkcs11, 0x80000012);
    CHECK(entry.category == Category::middleware);
    CHECK(code_name(ErrorDomain::pkcs11, 0x80000012) == "CKR_VENDOR_DEFINED+0x12");
}

TEST_CASE("every SCARD_* result of pcsclite.h has a row") {
    std::vector<Defined> codes =
        defines(CACTOOL_PCSCLITE_H, {"SCARD_S_", "SCARD_E_", "SCARD_W_", "SCARD_F_", "SCARD_P_"});
    REQUIRE(codes.size() > 50);
    check_rows(ErrorDomain::pcsc, codes);
}

TEST_CASE("every code of cactool's own has a row of its own") {
    // The codes are numbered from usage on, with the newest last.
    std::set<std::string_view> names;
    for (auto code = std::uint32_t(CoreCode::usage); code <= std::uint32_t(CoreCode::timed_out);
         ++code) {
        TaxonomyEntry entry = lookup_taxonomy(ErrorDomain::core, code);
        CAPTURE(code);
        CHECK(entry.code == code);
        CHECK(entry.name.starts_with("CACTOOL_"));
        CHECK(names.insert(entry.name).second);
    }
    TaxonomyEntry timeout = lookup_taxonomy(ErrorDomain::core, std::uint32_t(CoreCode::timed_out));
    CHECK(timeout.name == "CACTOOL_TIMEOUT");
    CHECK(timeout.category == Category::communication);
}

// The status word table of core/apdu/status_words.hpp is written from ISO/IEC 7816-4
// clause 5.6 and SP 800-73-4 table 6, with each pattern's processing class.
TEST_CASE("every status word pattern of ISO 7816-4 and SP 800-73-4 has a row that fits its class") {
    for (const StatusWordRow& row : status_word_table()) {
        for (char digit : {'0', 'F'}) {
            std::string text(row.pattern);
            std::replace(text.begin(), text.end(), 'x', digit);
            std::uint32_t sw = std::uint32_t(std::stoul(text, nullptr, 16));
            TaxonomyEntry entry = lookup_taxonomy(ErrorDomain::status_word, sw);
            CAPTURE(text);
            CHECK(entry.code == sw);
            CHECK_FALSE(entry.name.empty());  // a row, not the fallback
            if (row.cls == SwClass::success)
                CHECK(entry.severity == Severity::info);
            else if (!row.pattern.starts_with("6C"))  // 6Cxx: resent with the right Le
                CHECK(entry.severity != Severity::info);
            CHECK(code_name(ErrorDomain::status_word, sw) == "SW " + text);
        }
    }
}

TEST_CASE("PIV's authentication answers are authentication failures, a blocked PIN critical") {
    auto row = [](std::uint32_t sw) { return lookup_taxonomy(ErrorDomain::status_word, sw); };
    CHECK(row(0x63C2).category == Category::authentication);
    CHECK(row(0x63C2).action == RecoveryAction::user_action);
    CHECK(row(0x6300).category == Category::authentication);
    CHECK(row(0x6982).category == Category::authentication);
    CHECK(row(0x6983).category == Category::authentication);
    CHECK(row(0x6983).severity == Severity::critical);
    CHECK(row(0x6A82).category == Category::token);
    CHECK(std::string(row(0x6D00).hint).find("SELECT") != std::string::npos);
    // Application-specific answers get the fallback, keeping their value.
    CHECK(row(0x9123).name.empty());
    CHECK(row(0x9123).code == 0x9123);
}
