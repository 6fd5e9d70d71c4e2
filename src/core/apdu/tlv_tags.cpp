// Names from NIST SP 800-73-4 part 1 (data objects, section 3 and appendix A) and part 2
// (APDU data: the application property template, discovery object, dynamic
// authentication template), and from GSC-IS 2.1 for CAC applet properties (the tags seen
// in tests/data/03-piv-cac-objects/cac-gsc-is).
#include <algorithm>
#include <array>

#include "core/apdu/tlv_tags.hpp"

namespace cac::tlv_tags {
namespace {

// A row's parent: 0 anywhere; kObject at the top level or inside a 53 wrapper (PIV
// objects come both ways: GET DATA answers 53, files hold the content).
constexpr std::uint32_t kAny = 0;
constexpr std::uint32_t kObject = 0xFFFFFFFF;

struct Row {
    std::uint32_t tag;
    std::uint32_t parent;
    std::string_view name;
    Form form;
};

using F = Form;

constexpr std::array piv_rows{
    Row{0x53, kAny, "PIV data object", F::constructed},
    Row{0x5C, kAny, "Tag list", F::primitive},
    Row{0x7E, kAny, "Discovery Object", F::constructed},
    Row{0x4F, 0x7E, "PIV Card Application AID", F::primitive},
    Row{0x5F2F, 0x7E, "PIN Usage Policy", F::primitive},
    Row{0x61, kAny, "Application Property Template", F::constructed},
    Row{0x4F, 0x61, "Application identifier (PIX)", F::primitive},
    Row{0x79, 0x61, "Coexistent tag allocation authority", F::constructed},
    Row{0x4F, 0x79, "Application identifier", F::primitive},
    Row{0x50, 0x61, "Application label", F::primitive},
    Row{0x5F50, 0x61, "Uniform resource locator", F::primitive},
    Row{0xAC, 0x61, "Cryptographic algorithms supported", F::constructed},
    Row{0x80, 0xAC, "Cryptographic algorithm identifier", F::primitive},
    Row{0x06, 0xAC, "Object identifier", F::primitive},
    Row{0x7C, kAny, "Dynamic Authentication Template", F::constructed},
    Row{0x80, 0x7C, "Witness", F::primitive},
    Row{0x81, 0x7C, "Challenge", F::primitive},
    Row{0x82, 0x7C, "Response", F::primitive},
    Row{0x85, 0x7C, "Exponentiation", F::primitive},
    Row{0x7F49, kAny, "Public key data object", F::constructed},
    Row{0x81, 0x7F49, "RSA modulus", F::primitive},
    Row{0x82, 0x7F49, "RSA public exponent", F::primitive},
    Row{0x86, 0x7F49, "EC point", F::primitive},
    Row{0xAC, kAny, "Cryptographic mechanism", F::constructed},
    Row{0x7F61, kAny, "Biometric Information Templates Group Template", F::constructed},
    Row{0x70, kObject, "Certificate", F::primitive},
    Row{0x71, kObject, "CertInfo", F::primitive},
    Row{0x72, kObject, "MSCUID", F::primitive},
    Row{0xFE, kObject, "Error Detection Code", F::primitive},
    Row{0xEE, kObject, "Buffer Length", F::primitive},
    Row{0x30, kObject, "FASC-N", F::primitive},
    Row{0x32, kObject, "Organizational Identifier", F::primitive},
    Row{0x33, kObject, "DUNS", F::primitive},
    Row{0x34, kObject, "GUID", F::primitive},
    Row{0x35, kObject, "Expiration Date", F::primitive},
    Row{0x36, kObject, "Cardholder UUID", F::primitive},
    Row{0x3E, kObject, "Issuer Asymmetric Signature", F::primitive},
    Row{0xF0, kObject, "Card Identifier", F::primitive},
    Row{0xF1, kObject, "Capability Container version number", F::primitive},
    Row{0xF2, kObject, "Capability Grammar version number", F::primitive},
    Row{0xF3, kObject, "Applications CardURL / Off-Card Certificate URL", F::primitive},
    Row{0xF4, kObject, "PKCS#15", F::primitive},
    Row{0xF5, kObject, "Registered Data Model number", F::primitive},
    Row{0xF6, kObject, "Access Control Rule Table", F::primitive},
    Row{0xF7, kObject, "Card APDUs", F::primitive},
    Row{0xFA, kObject, "Redirection Tag", F::primitive},
    Row{0xFB, kObject, "Capability Tuples", F::primitive},
    Row{0xFC, kObject, "Status Tuples", F::primitive},
    Row{0xFD, kObject, "Next CCC", F::primitive},
    Row{0xE3, kObject, "Extended Application CardURL", F::primitive},
    Row{0xB4, kObject, "Security Object Buffer", F::primitive},
    Row{0x01, kObject, "Name", F::primitive},
    Row{0x02, kObject, "Employee Affiliation", F::primitive},
    Row{0x04, kObject, "Expiration date", F::primitive},
    Row{0x05, kObject, "Agency Card Serial Number", F::primitive},
    Row{0x06, kObject, "Issuer Identification", F::primitive},
    Row{0x07, kObject, "Organization Affiliation (Line 1)", F::primitive},
    Row{0x08, kObject, "Organization Affiliation (Line 2)", F::primitive},
    Row{0xC1, kObject, "keysWithOnCardCerts", F::primitive},
    Row{0xC2, kObject, "keysWithOffCardCerts", F::primitive},
    Row{0xBA, kObject, "Mapping of DG to ContainerID", F::primitive},
    Row{0xBB, kObject, "Security Object", F::primitive},
    Row{0xBC, kObject, "Biometric data (image or template)", F::primitive},
    Row{0x99, kObject, "Pairing Code", F::primitive},
};

// GSC-IS 2.1 GET PROPERTIES answers and the PKI certificate buffers of a CAC.
constexpr std::array cac_rows{
    Row{0x01, kAny, "Applet information", F::primitive},
    Row{0x40, kAny, "Number of objects", F::primitive},
    Row{0x50, kAny, "TV-buffer object", F::constructed},
    Row{0x51, kAny, "PKI object", F::constructed},
    Row{0x41, kAny, "Object ID", F::primitive},
    Row{0x42, kAny, "Buffer properties", F::primitive},
    Row{0x43, kAny, "PKI properties", F::primitive},
    Row{0x70, kAny, "Certificate", F::primitive},
    Row{0x71, kAny, "CertInfo", F::primitive},
    Row{0x72, kAny, "MSCUID", F::primitive},
    Row{0xFE, kAny, "Error Detection Code", F::primitive},
};

bool parent_matches(const Row& row, std::uint32_t parent) {
    if (row.parent == kObject)
        return parent == 0 || parent == 0x53;
    return row.parent == parent;
}

template <typename Rows>
const Row* find(const Rows& rows, std::uint32_t tag, std::uint32_t parent) {
    auto in_context = std::find_if(rows.begin(), rows.end(), [&](const Row& row) {
        return row.tag == tag && row.parent != kAny && parent_matches(row, parent);
    });
    if (in_context != rows.end())
        return &*in_context;
    auto anywhere = std::find_if(rows.begin(), rows.end(), [&](const Row& row) {
        return row.tag == tag && row.parent == kAny;
    });
    return anywhere == rows.end() ? nullptr : &*anywhere;
}

}  // namespace

TagInfo lookup(std::uint32_t tag, std::uint32_t parent, TagFamily family) {
    const Row* row = nullptr;
    if (family == TagFamily::piv)
        row = find(piv_rows, tag, parent);
    else if (family == TagFamily::cac)
        row = find(cac_rows, tag, parent);
    return row == nullptr ? TagInfo{} : TagInfo{row->name, row->form};
}

}  // namespace cac::tlv_tags

namespace cac {

std::string_view tag_name(std::uint32_t tag, std::uint32_t parent, TagFamily family) {
    return tlv_tags::lookup(tag, parent, family).name;
}

std::string_view piv_object_name(std::uint32_t object_id) {
    struct Object {
        std::uint32_t id;
        std::string_view name;
    };
    static constexpr std::array objects{
        Object{0x5FC107, "Card Capability Container"},
        Object{0x5FC102, "Card Holder Unique Identifier"},
        Object{0x5FC105, "X.509 Certificate for PIV Authentication"},
        Object{0x5FC103, "Cardholder Fingerprints"},
        Object{0x5FC106, "Security Object"},
        Object{0x5FC108, "Cardholder Facial Image"},
        Object{0x5FC101, "X.509 Certificate for Card Authentication"},
        Object{0x5FC10A, "X.509 Certificate for Digital Signature"},
        Object{0x5FC10B, "X.509 Certificate for Key Management"},
        Object{0x5FC109, "Printed Information"},
        Object{0x7E, "Discovery Object"},
        Object{0x5FC10C, "Key History Object"},
        Object{0x5FC121, "Cardholder Iris Images"},
        Object{0x7F61, "Biometric Information Templates Group Template"},
        Object{0x5FC122, "Secure Messaging Certificate Signer"},
        Object{0x5FC123, "Pairing Code Reference Data Container"},
    };
    // 5FC10D..5FC120: Retired X.509 Certificate for Key Management 1..20.
    static const std::array<std::string, 20> retired = [] {
        std::array<std::string, 20> names;
        for (std::size_t i = 0; i < names.size(); ++i)
            names[i] = "Retired X.509 Certificate for Key Management " + std::to_string(i + 1);
        return names;
    }();
    if (object_id >= 0x5FC10D && object_id <= 0x5FC120)
        return retired[object_id - 0x5FC10D];
    for (const Object& object : objects) {
        if (object.id == object_id)
            return object.name;
    }
    return {};
}

}  // namespace cac
