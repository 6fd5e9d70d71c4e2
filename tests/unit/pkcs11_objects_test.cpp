#include <doctest/doctest.h>

#include "core/pkcs11/objects.hpp"
#include "core/util/error.hpp"
#include "pkcs11_fake.hpp"

using namespace cac;
using namespace cac::test;

namespace {

std::vector<unsigned char> bytes(const std::string& text) {
    return {text.begin(), text.end()};
}

std::vector<unsigned char> ulong_bytes(CK_ULONG value) {
    std::vector<unsigned char> out(sizeof value);
    std::memcpy(out.data(), &value, sizeof value);
    return out;
}

// Object 1: a certificate with a label, an id, a value; a sensitive CKA_PRIVATE_EXPONENT
// stands in for what a module refuses to reveal.
void certificate_object(FakeModule& fake) {
    fake.objects = {1};
    auto& object = fake.attributes[1];
    object[CKA_CLASS].value = ulong_bytes(CKO_CERTIFICATE);
    object[CKA_LABEL].value = bytes("Certificate for PIV Authentication");
    object[CKA_ID].value = {0x01};
    object[CKA_VALUE].value = bytes("0\x82 der bytes");
    object[CKA_CERTIFICATE_TYPE].value = ulong_bytes(CKC_X_509);
    object[CKA_PRIVATE_EXPONENT].error = CKR_ATTRIBUTE_SENSITIVE;
}

std::vector<Attribute> read(FakeModule& fake, std::vector<CK_ATTRIBUTE_TYPE> types,
                            std::size_t limit = default_attribute_limit) {
    return read_attributes(fake.cryptoki(), 7, 1, types, limit);
}

}  // namespace

TEST_CASE("attributes come in one call for lengths and one for values") {
    FakeModule fake;
    certificate_object(fake);
    auto attributes = read(fake, {CKA_LABEL, CKA_ID, CKA_VALUE});
    CHECK(fake.get_attribute_counts == std::vector<CK_ULONG>{3, 3});
    CHECK(attributes[0].as_text() == "Certificate for PIV Authentication");
    CHECK(attributes[1].value == Bytes{0x01});
    CHECK(attributes[2].value.size() == 12);
}

TEST_CASE("sensitive and missing attributes are told apart, the others still read") {
    for (BatchStyle style :
         {BatchStyle::standard, BatchStyle::stop_early, BatchStyle::single_only}) {
        CAPTURE(int(style));
        FakeModule fake;
        certificate_object(fake);
        fake.batch_style = style;
        auto attributes = read(fake, {CKA_PRIVATE_EXPONENT, CKA_LABEL, CKA_MODULUS, CKA_ID});
        CHECK(attributes[0].state == AttributeState::sensitive);
        CHECK(attributes[1].as_text() == "Certificate for PIV Authentication");
        CHECK(attributes[2].state == AttributeState::absent);
        CHECK(attributes[3].value == Bytes{0x01});
    }
}

TEST_CASE("one bad attribute in a batch is classified by the batch's code without more calls") {
    FakeModule fake;
    certificate_object(fake);
    auto attributes = read(fake, {CKA_MODULUS, CKA_LABEL});
    CHECK(attributes[0].state == AttributeState::absent);
    CHECK(attributes[1].present());
    CHECK(fake.get_attribute_counts == std::vector<CK_ULONG>{2, 1});
}

TEST_CASE("a module that answers a batch only in part gets the rest one by one") {
    FakeModule fake;
    certificate_object(fake);
    fake.batch_style = BatchStyle::stop_early;
    auto attributes = read(fake, {CKA_LABEL, CKA_MODULUS, CKA_ID, CKA_VALUE});
    CHECK(attributes[0].present());
    CHECK(attributes[1].state == AttributeState::absent);
    CHECK(attributes[2].value == Bytes{0x01});
    CHECK(attributes[3].present());
    // Batch of 4 stopped at CKA_MODULUS; CKA_LABEL's value in one call; CKA_ID and
    // CKA_VALUE were never answered, so each is read alone (length and value).
    CHECK(fake.get_attribute_counts == std::vector<CK_ULONG>{4, 1, 1, 1, 1, 1});
}

TEST_CASE("a module that refuses batches is read one attribute per call") {
    FakeModule fake;
    certificate_object(fake);
    fake.batch_style = BatchStyle::single_only;
    auto attributes = read(fake, {CKA_LABEL, CKA_ID});
    CHECK(attributes[0].present());
    CHECK(attributes[1].value == Bytes{0x01});
    CHECK(fake.get_attribute_counts == std::vector<CK_ULONG>{2, 1, 1, 1, 1});
}

TEST_CASE("CK_UNAVAILABLE_INFORMATION is never used as a length") {
    FakeModule fake;
    certificate_object(fake);
    fake.attributes[1][CKA_SUBJECT].unavailable = true;
    auto attributes = read(fake, {CKA_SUBJECT, CKA_ID});
    CHECK(attributes[0].state == AttributeState::unavailable);
    CHECK(attributes[0].value.empty());
    CHECK(attributes[1].present());
}

TEST_CASE("an attribute claiming to be huge is refused without allocating it") {
    FakeModule fake;
    certificate_object(fake);
    fake.attributes[1][CKA_VALUE].claimed_length = CK_ULONG(8) << 30;
    auto attributes = read(fake, {CKA_VALUE, CKA_ID});
    CHECK(attributes[0].state == AttributeState::too_large);
    CHECK(attributes[0].reported_length == CK_ULONG(8) << 30);
    CHECK(attributes[1].present());
    auto limited = read(fake, {CKA_LABEL}, 10);
    CHECK(limited[0].state == AttributeState::too_large);
}

TEST_CASE("a value that grows between the length and value calls is read again") {
    FakeModule fake;
    certificate_object(fake);
    // The length query says 1 byte; the value is 12: the value call answers
    // CKR_BUFFER_TOO_SMALL and the attribute is read alone, where it still lies, until
    // the bounded retries give up.
    fake.attributes[1][CKA_VALUE].claimed_length = 1;
    CHECK_THROWS_AS((void)read(fake, {CKA_VALUE}), Error);
    fake.attributes[1][CKA_VALUE].claimed_length = 0;
    CHECK(read(fake, {CKA_VALUE})[0].value.size() == 12);
}

TEST_CASE("a failure of the object itself is an error, not an attribute state") {
    FakeModule fake;
    certificate_object(fake);
    try {
        (void)read_attributes(fake.cryptoki(), 7, 99, std::vector<CK_ATTRIBUTE_TYPE>{CKA_ID});
        FAIL("no error");
    } catch (const Error& error) {
        CHECK(error.is(ErrorDomain::pkcs11, CKR_OBJECT_HANDLE_INVALID));
    }
}

TEST_CASE("a search is finalised even when it fails halfway") {
    FakeModule fake;
    fake.objects = {1, 2, 3};
    fake.find_objects_rv = CKR_DEVICE_REMOVED;
    CHECK_THROWS_AS((void)find_objects(fake.cryptoki(), 7, {}), Error);
    CHECK(fake.count("C_FindObjectsFinal") == 1);
}

TEST_CASE("a search collects every batch") {
    FakeModule fake;
    for (CK_OBJECT_HANDLE h = 1; h <= 150; ++h)
        fake.objects.push_back(h);
    auto found = find_objects(fake.cryptoki(), 7, {ulong_match(CKA_CLASS, CKO_CERTIFICATE)});
    CHECK(found.size() == 150);
    CHECK(fake.count("C_FindObjects") == 4);  // 64 + 64 + 22 + the empty answer
    CHECK(fake.count("C_FindObjectsFinal") == 1);
}

TEST_CASE("a failed search start is not finalised") {
    FakeModule fake;
    fake.find_objects_init_rv = CKR_SESSION_HANDLE_INVALID;
    CHECK_THROWS_AS((void)find_objects(fake.cryptoki(), 7, {}), Error);
    CHECK(fake.count("C_FindObjectsFinal") == 0);
}

TEST_CASE("certificates are found, then read with label, id, value and type in one batch") {
    FakeModule fake;
    certificate_object(fake);
    std::vector<CertificateObject> certificates;
    for (CK_OBJECT_HANDLE handle : certificate_handles(fake.cryptoki(), 7))
        certificates.push_back(read_certificate(fake.cryptoki(), 7, handle));
    REQUIRE(certificates.size() == 1);
    CHECK(certificates[0].label == "Certificate for PIV Authentication");
    CHECK(certificates[0].id == Bytes{0x01});
    CHECK(certificates[0].value->size() == 12);
    CHECK(certificates[0].certificate_type == CKC_X_509);
    CHECK(fake.get_attribute_counts == std::vector<CK_ULONG>{4, 4});
}

TEST_CASE("private key ids are collected, keys without an id left out") {
    FakeModule fake;
    fake.objects = {5, 6};
    fake.attributes[5][CKA_ID].value = {0x02};
    fake.attributes[6][CKA_LABEL].value = bytes("no id");
    CHECK(private_key_ids(fake.cryptoki(), 7) == std::vector<Bytes>{{0x02}});
}
