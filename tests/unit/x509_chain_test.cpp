// Chain validation checked against `openssl verify` on the same files at the same time.
#include <doctest/doctest.h>

#include "test_support.hpp"

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/util/error.hpp"
#include "core/util/log.hpp"
#include "core/x509/bundle.hpp"
#include "core/x509/chain.hpp"
#include "core/x509/export.hpp"

using namespace cac;
namespace fs = std::filesystem;

namespace {

std::string run(const std::string& command) {
    return test::run_command(command + " 2>&1");
}
using test::shell_quoted;

const fs::path kData = CACTOOL_TESTDATA;
const fs::path kIcam = kData / "02-piv-test-certs/icam-test-cards";
const fs::path kPki = kIcam / "pki";
const fs::path kEdge = kData / "05-parser-edge-cases";
// 2023-11-14: inside the validity of every ICAM and DoD certificate used here except the
// ones meant to be expired; SOURCES.md's chain checks ran at this time.
constexpr std::time_t kAt = 1700000000;

Bytes read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot open " << path);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::vector<Bytes> certs_of(const fs::path& path) {
    return decode_certificates(read_bytes(path));
}

CertificateSummary leaf_of(const fs::path& path) {
    return summarize_certificate(certs_of(path).at(0), kAt);
}

// A private temporary directory, removed with everything in it.
class TempDir {
  public:
    TempDir() {
        char name[] = "/tmp/cactool-chain-XXXXXX";
        REQUIRE(mkdtemp(name) != nullptr);
        path_ = name;
    }
    ~TempDir() { fs::remove_all(path_); }
    const fs::path& path() const { return path_; }

    fs::path write(const std::string& name, const std::vector<Bytes>& certs) {
        std::ofstream out(path_ / name, std::ios::binary);
        for (const Bytes& der : certs) {
            out << to_pem(der);
        }
        return path_ / name;
    }

  private:
    fs::path path_;
};

struct Verdict {
    bool ok = false;
    int error = 0;
    int depth = -1;
    std::string text;
};

// `openssl verify` with -partial_chain, as cactool trusts every anchor as given.
Verdict openssl_verify(const fs::path& leaf, const fs::path& anchors,
                       const std::optional<fs::path>& untrusted, std::time_t at) {
    std::string command = "openssl verify -partial_chain -attime " + std::to_string(at) +
                          " -CAfile " + shell_quoted(anchors);
    if (untrusted) {
        command += " -untrusted " + shell_quoted(*untrusted);
    }
    const std::string output = run(command + " " + shell_quoted(leaf));
    // "error 10 at 0 depth lookup: certificate has expired"
    Verdict verdict;
    const auto at_error = output.find("error ");
    const auto lookup = output.find(" depth lookup: ");
    if (at_error != std::string::npos && lookup != std::string::npos) {
        int code = 0;
        int depth = 0;
        REQUIRE(std::sscanf(output.c_str() + at_error, "error %d at %d depth", &code, &depth) == 2);
        verdict.error = code;
        verdict.depth = depth;
        const auto text = lookup + std::string(" depth lookup: ").size();
        verdict.text = output.substr(text, output.find('\n', text) - text);
    } else {
        verdict.ok = output.find(": OK") != std::string::npos;
    }
    INFO("openssl said: " << output);
    REQUIRE((verdict.ok || verdict.error != 0));
    return verdict;
}

// Validates leaf + intermediates against anchors with cactool and with openssl, expects
// both to agree, and returns cactool's result.
ChainResult validate_both(const std::vector<Bytes>& leaf_and_intermediates,
                          const std::vector<Bytes>& anchor_certs, std::time_t at) {
    TempDir dir;
    const fs::path leaf = dir.write("leaf.pem", {leaf_and_intermediates.at(0)});
    const fs::path anchors = dir.write("anchors.pem", anchor_certs);
    std::vector<Bytes> intermediates(leaf_and_intermediates.begin() + 1,
                                     leaf_and_intermediates.end());
    std::optional<fs::path> untrusted;
    if (!intermediates.empty()) {
        untrusted = dir.write("untrusted.pem", intermediates);
    }
    TrustAnchors trust;
    trust.add_file(anchors);
    const ChainResult result = validate_chain(
        summarize_certificate(leaf_and_intermediates.at(0), at), intermediates, trust, at);
    const Verdict expected = openssl_verify(leaf, anchors, untrusted, at);
    CHECK(result.ok == expected.ok);
    CHECK(result.error == expected.error);
    CHECK(result.error_depth == expected.depth);
    if (!expected.ok) {
        CHECK(result.error_text == expected.text);
    }
    return result;
}

std::vector<Bytes> join(std::initializer_list<fs::path> files) {
    std::vector<Bytes> out;
    for (const fs::path& file : files) {
        for (Bytes& der : certs_of(file)) {
            out.push_back(std::move(der));
        }
    }
    return out;
}

}  // namespace

TEST_CASE("an ICAM card certificate chains to the ICAM root through its signing CA") {
    const auto result =
        validate_both(join({kIcam / "card46-golden-fips201-2-piv/3_ICAM_PIV_Auth_SP_800-73-4.crt",
                            kPki / "ICAM_Test_Card_PIV_Signing_CA_-_gold_gen3.crt"}),
                      join({kPki / "ICAM_Test_Card_Root_CA.crt"}), kAt);
    CHECK(result.ok);
    CHECK(result.error == 0);
    CHECK(result.error_text == "ok");
    CHECK(result.error_depth == -1);
    CHECK(result.chain ==
          std::vector<std::string>{
              "CN=ICAM Test Card PIV Auth SP 800-73-4,OU=ICAM Test Cards,O=U.S. Government,C=US",
              "CN=ICAM Test Card Signing CA,OU=ICAM Test Cards,O=U.S. Government,C=US",
              "CN=ICAM Test Card Root CA,OU=ICAM Test Cards,O=U.S. Government,C=US"});
}

TEST_CASE("the PIV-I root is the wrong anchor for a PIV card") {
    const auto result =
        validate_both(join({kIcam / "card46-golden-fips201-2-piv/3_ICAM_PIV_Auth_SP_800-73-4.crt",
                            kPki / "ICAM_Test_Card_PIV_Signing_CA_-_gold_gen3.crt"}),
                      join({kPki / "ICAM_Test_Card_PIV-I_Root_CA.crt"}), kAt);
    CHECK_FALSE(result.ok);
    CHECK(result.error_text == "unable to get local issuer certificate");
    CHECK(result.error_depth == 1);
    CHECK(result.chain.size() == 2);
}

TEST_CASE("an expired card certificate reports expiry") {
    const auto result =
        validate_both(join({kEdge / "icam_card13_piv_auth_EXPIRED_2014.crt",
                            kPki / "ICAM_Test_Card_PIV_Signing_CA_-_gold_gen1-2.crt"}),
                      join({kPki / "ICAM_Test_Card_Root_CA.crt"}), kAt);
    CHECK_FALSE(result.ok);
    CHECK(result.error_text == "certificate has expired");
    CHECK(result.error_depth == 0);
}

TEST_CASE("a certificate not yet valid says so") {
    const auto result =
        validate_both(join({kEdge / "icam_card12_piv_auth_NOT_YET_VALID_until_2030.crt",
                            kPki / "ICAM_Test_Card_PIV_Signing_CA_-_gold_gen1-2.crt"}),
                      join({kPki / "ICAM_Test_Card_Root_CA.crt"}), kAt);
    CHECK_FALSE(result.ok);
    CHECK(result.error_text == "certificate is not yet valid");
}

TEST_CASE("an unknown critical extension fails the chain") {
    // Go's vectors; SOURCES.md: openssl verify -attime 1486684488 says so.
    const auto chain = certs_of(kEdge / "unknown_critical_extension_chain.pem");
    REQUIRE(chain.size() == 3);
    const auto result = validate_both({chain[0], chain[1]}, {chain[2]}, 1486684488);
    CHECK_FALSE(result.ok);
    CHECK(result.error_text == "unhandled critical extension");
}

TEST_CASE("a five-certificate cross-certified DoD path verifies") {
    const auto chain = certs_of(kData /
                                "01-ca-certs/chains/"
                                "DOD_ID_CA-65_to_FCPCA_G2_via_FBCA_G4_5certs.pem");
    REQUIRE(chain.size() == 5);
    const auto result = validate_both({chain[0], chain[1], chain[2], chain[3]}, {chain[4]}, kAt);
    CHECK(result.ok);
    CHECK(result.chain.size() == 5);
    CHECK(result.chain.back() == "CN=Federal Common Policy CA G2,OU=FPKI,O=U.S. Government,C=US");
}

TEST_CASE("an issuing CA alone can be the trust anchor") {
    const auto result =
        validate_both(join({kIcam / "card46-golden-fips201-2-piv/3_ICAM_PIV_Auth_SP_800-73-4.crt"}),
                      join({kPki / "ICAM_Test_Card_PIV_Signing_CA_-_gold_gen3.crt"}), kAt);
    CHECK(result.ok);
    CHECK(result.chain.size() == 2);
}

TEST_CASE("intermediates that do not parse are left out") {
    TrustAnchors trust;
    trust.add_file(kPki / "ICAM_Test_Card_Root_CA.crt");
    const auto leaf =
        leaf_of(kIcam / "card46-golden-fips201-2-piv/3_ICAM_PIV_Auth_SP_800-73-4.crt");
    std::vector<Bytes> intermediates = {Bytes{0x30, 0x03, 0x02, 0x01}};
    intermediates.push_back(certs_of(kPki / "ICAM_Test_Card_PIV_Signing_CA_-_gold_gen3.crt")[0]);
    std::vector<std::string> logged;
    log::set_sink([&](std::string_view line) { logged.emplace_back(line); });
    const bool ok = validate_chain(leaf, intermediates, trust, kAt).ok;
    log::set_sink(nullptr);
    CHECK(ok);
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].find("intermediate certificate 1 does not parse") != std::string::npos);
}

namespace {

// Every certificate in the test data's ICAM folders and the ICAM edge cases: leaves,
// signing CAs and roots, some expired or not yet valid.
std::vector<Bytes> icam_pool() {
    std::set<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(kIcam)) {
        if (entry.is_regular_file() && entry.path().extension() == ".crt")
            files.insert(entry.path());
    }
    for (const auto& entry : fs::directory_iterator(kEdge)) {
        if (entry.is_regular_file() && entry.path().filename().string().starts_with("icam_"))
            files.insert(entry.path());
    }
    std::vector<Bytes> pool;
    for (const fs::path& file : files) {
        for (Bytes& der : certs_of(file))
            pool.push_back(std::move(der));
    }
    return pool;
}

}  // namespace

TEST_CASE("one validator for many leaves answers as each leaf validated alone") {
    const std::vector<Bytes> certs = icam_pool();
    REQUIRE(certs.size() > 25);
    // A pool as a token might offer it: every certificate, one twice, one damaged.
    std::vector<Bytes> pool = certs;
    pool.insert(pool.begin() + 3, Bytes{0x30, 0x03, 0x02, 0x01, 0x00});
    pool.push_back(certs[5]);

    TempDir dir;
    const std::vector<Bytes> root = certs_of(kPki / "ICAM_Test_Card_Root_CA.crt");
    const fs::path anchors_file = dir.write("anchors.pem", root);
    const fs::path untrusted = dir.write("untrusted.pem", certs);
    TrustAnchors trust;
    trust.add_file(anchors_file);

    std::vector<std::string> logged;
    log::set_sink([&](std::string_view line) { logged.emplace_back(line); });
    const ChainValidator validator(trust, pool);
    std::vector<ChainResult> forward;
    for (const Bytes& der : certs)
        forward.push_back(validator.validate(summarize_certificate(der, kAt), kAt));
    std::vector<ChainResult> backward(certs.size());
    for (std::size_t i = certs.size(); i-- > 0;)
        backward[i] = validator.validate(summarize_certificate(certs[i], kAt), kAt);
    log::set_sink(nullptr);
    // One warning for the damaged one, however many leaves were checked.
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].find("intermediate certificate 4 does not parse") != std::string::npos);
    CHECK(validator.intermediate_count() == pool.size() - 1);

    int verified = 0;
    for (std::size_t i = 0; i < certs.size(); ++i) {
        INFO("certificate " << i);
        const fs::path leaf = dir.write("leaf.pem", {certs[i]});
        const Verdict expected = openssl_verify(leaf, anchors_file, untrusted, kAt);
        CHECK(forward[i].ok == expected.ok);
        CHECK(forward[i].error == expected.error);
        CHECK(forward[i].error_depth == expected.depth);
        if (!expected.ok)
            CHECK(forward[i].error_text == expected.text);
        log::set_sink([](std::string_view) {});
        const ChainResult alone =
            validate_chain(summarize_certificate(certs[i], kAt), pool, trust, kAt);
        log::set_sink(nullptr);
        for (const ChainResult* result : {&forward[i], &backward[i]}) {
            CHECK(result->ok == alone.ok);
            CHECK(result->error == alone.error);
            CHECK(result->error_text == alone.error_text);
            CHECK(result->error_depth == alone.error_depth);
            CHECK(result->chain == alone.chain);
        }
        verified += forward[i].ok ? 1 : 0;
    }
    // The pool holds both outcomes, or the comparison above proves little.
    CHECK(verified > 5);
    CHECK(verified < static_cast<int>(certs.size()) - 3);
}

TEST_CASE("validation time defaults to now") {
    TrustAnchors trust;
    trust.add_file(kPki / "ICAM_Test_Card_Root_CA.crt");
    trust.add_file(kPki / "ICAM_Test_Card_PIV_Signing_CA_-_gold_gen1-2.crt");
    // Expired in 2014 whatever the clock says today.
    const auto leaf = leaf_of(kEdge / "icam_card13_piv_auth_EXPIRED_2014.crt");
    const auto result = validate_chain(leaf, {}, trust);
    CHECK_FALSE(result.ok);
    CHECK(result.error_text == "certificate has expired");
}

TEST_CASE("a CA file with many certificates loads them all") {
    TrustAnchors trust;
    const fs::path bundle = kData / "01-ca-certs/dod/DoD_Root_CAs_bundle_v5.14.pem";
    trust.add_file(bundle);
    const std::string pem = run("grep -c 'BEGIN CERTIFICATE' " + shell_quoted(bundle));
    CHECK(trust.size() == std::stoul(pem));
    // Adding the same file again adds nothing.
    trust.add_file(bundle);
    CHECK(trust.size() == std::stoul(pem));
}

TEST_CASE("a PKCS#7 CA file loads") {
    TrustAnchors trust;
    trust.add_file(kData /
                   "01-ca-certs/federal/CACertificatesValidatingToFederalCommonPolicyG2.p7b");
    CHECK(trust.size() == 146);  // SOURCES.md, appendix A
}

TEST_CASE("a plain CA directory of PEM and DER files loads") {
    TrustAnchors trust;
    trust.add_directory(kPki);
    CHECK(trust.size() == 11);
    const auto leaf = leaf_of(kIcam / "card39-golden-fed-piv-i/3_ICAM_PIV_Auth_SP_800-73-4.crt");
    CHECK(validate_chain(leaf, {}, trust, kAt).ok);

    TrustAnchors federal;
    federal.add_directory(kData / "01-ca-certs/federal");
    CHECK(federal.size() > 146);
}

TEST_CASE("a hashed CA directory loads without duplicates") {
    TempDir dir;
    const fs::path root = kPki / "ICAM_Test_Card_Root_CA.crt";
    const std::string hash = run("openssl x509 -noout -hash -in " + shell_quoted(root));
    fs::copy_file(root, dir.path() / "root.pem");
    fs::create_symlink(dir.path() / "root.pem", dir.path() / (hash.substr(0, 8) + ".0"));
    const Bytes signing = certs_of(kPki / "ICAM_Test_Card_PIV_Signing_CA_-_gold_gen3.crt")[0];
    {
        // A hashed name alone, holding DER.
        std::ofstream out(dir.path() / "0badf00d.1", std::ios::binary);
        out.write(reinterpret_cast<const char*>(signing.data()),
                  static_cast<std::streamsize>(signing.size()));
    }
    std::ofstream(dir.path() / "README") << "not a certificate\n";
    std::ofstream(dir.path() / "0badf00d.r0") << "a CRL name, skipped\n";

    TrustAnchors trust;
    trust.add_directory(dir.path());
    CHECK(trust.size() == 2);
    const auto leaf =
        leaf_of(kIcam / "card46-golden-fips201-2-piv/3_ICAM_PIV_Auth_SP_800-73-4.crt");
    CHECK(validate_chain(leaf, {}, trust, kAt).ok);
}

namespace {

Error load_error(const std::function<void(TrustAnchors&)>& load) {
    TrustAnchors trust;
    try {
        load(trust);
    } catch (const Error& error) {
        return error;
    }
    FAIL("loading succeeded");
    return Error(CoreCode::internal, "unreachable");
}

}  // namespace

TEST_CASE("anchor files that are missing or broken name the file") {
    TempDir dir;
    const fs::path missing = dir.path() / "missing.pem";
    const Error absent = load_error([&](TrustAnchors& t) { t.add_file(missing); });
    CHECK(absent.is(CoreCode::io_error));
    CHECK(absent.operation() == "load trust anchors");
    CHECK(absent.reason().find(missing.string()) != std::string::npos);

    const fs::path garbage = dir.path() / "garbage.crt";
    std::ofstream(garbage) << "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    const Error broken = load_error([&](TrustAnchors& t) { t.add_file(garbage); });
    CHECK(broken.is(CoreCode::config_invalid));
    CHECK(broken.reason().find(garbage.string()) != std::string::npos);
    REQUIRE(broken.cause() != nullptr);
    CHECK(broken.cause()->is(CoreCode::certificate_invalid));

    const Error in_dir = load_error([&](TrustAnchors& t) { t.add_directory(dir.path()); });
    CHECK(in_dir.is(CoreCode::config_invalid));
    CHECK(in_dir.reason().find("garbage.crt") != std::string::npos);

    const Error no_dir =
        load_error([&](TrustAnchors& t) { t.add_directory(dir.path() / "nowhere"); });
    CHECK(no_dir.is(CoreCode::io_error));

    const Error a_dir = load_error([&](TrustAnchors& t) { t.add_file(dir.path()); });
    CHECK(a_dir.is(CoreCode::config_invalid));
}

TEST_CASE("add_certificate refuses what is not a certificate") {
    TrustAnchors trust;
    CHECK_THROWS_AS(trust.add_certificate(Bytes{1, 2, 3}), Error);
    trust.add_certificate(certs_of(kPki / "ICAM_Test_Card_Root_CA.crt")[0]);
    CHECK(trust.size() == 1);
    CHECK_FALSE(trust.empty());
}

TEST_CASE("a leaf that does not parse is an error, not a result") {
    TrustAnchors trust;
    CertificateSummary fake;
    fake.der = {0x30, 0x00};
    CHECK_THROWS_AS(validate_chain(fake, {}, trust, kAt), Error);
}
