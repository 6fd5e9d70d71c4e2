#include "core/piv/ccc.hpp"

#include <array>

#include "core/piv/flat_tlv.hpp"

namespace cac::piv {
namespace {

constexpr std::size_t kIdentifierBytes = 21;

// Table 8's mandatory tags, each with its name for a warning. FE (the error detection
// code) is mandatory too, but a card that leaves it out loses nothing a reader needs.
struct Mandatory {
    std::uint32_t tag;
    const char* name;
};
constexpr std::array<Mandatory, 11> kMandatory{{
    {0xF0, "card identifier"},
    {0xF1, "capability container version"},
    {0xF2, "capability grammar version"},
    {0xF3, "applications CardURL"},
    {0xF4, "PKCS#15"},
    {0xF5, "registered data model number"},
    {0xF6, "access control rule table"},
    {0xF7, "card APDUs"},
    {0xFA, "redirection tag"},
    {0xFB, "capability tuples"},
    {0xFC, "status tuples"},
}};

std::optional<std::uint8_t> one_byte(const TlvNode& node, const char* name,
                                     std::vector<std::string>& warnings) {
    if (node.value.size() == 1)
        return node.value[0];
    warnings.push_back(std::string("the ") + name + " (" + tag_hex(node.tag) + ") has " +
                       std::to_string(node.value.size()) + " bytes, not 1");
    return std::nullopt;
}

void read_identifier(const TlvNode& node, CardCapabilityContainer& out) {
    out.card_identifier = node.value;
    if (node.value.size() != kIdentifierBytes) {
        out.warnings.push_back("the card identifier (F0) has " + std::to_string(node.value.size()) +
                               " bytes, not 21");
        return;
    }
    const Bytes& v = node.value;
    out.identifier =
        CardIdentifier{Bytes(v.begin(), v.begin() + 5), v[5], v[6], Bytes(v.begin() + 7, v.end())};
}

// The fields of one byte, and those kept as bytes; F7 and FA to FE, which PIV leaves
// empty, are neither.
struct ByteField {
    std::uint32_t tag;
    const char* name;
    std::optional<std::uint8_t> CardCapabilityContainer::*target;
};
constexpr std::array<ByteField, 4> kByteFields{{
    {0xF1, "capability container version", &CardCapabilityContainer::container_version},
    {0xF2, "capability grammar version", &CardCapabilityContainer::grammar_version},
    {0xF4, "PKCS#15", &CardCapabilityContainer::pkcs15},
    {0xF5, "registered data model number", &CardCapabilityContainer::data_model},
}};
struct BytesField {
    std::uint32_t tag;
    Bytes CardCapabilityContainer::*target;
};
constexpr std::array<BytesField, 4> kBytesFields{{
    {0xF3, &CardCapabilityContainer::applications_url},
    {0xF6, &CardCapabilityContainer::access_control_rule_table},
    {0xE3, &CardCapabilityContainer::extended_application_url},
    {0xB4, &CardCapabilityContainer::security_object_buffer},
}};

void read_field(const TlvNode& node, CardCapabilityContainer& out) {
    if (node.tag == 0xF0)
        read_identifier(node, out);
    for (const ByteField& field : kByteFields) {
        if (field.tag == node.tag)
            out.*field.target = one_byte(node, field.name, out.warnings);
    }
    for (const BytesField& field : kBytesFields) {
        if (field.tag == node.tag)
            out.*field.target = node.value;
    }
}

}  // namespace

CardCapabilityContainer parse_ccc(std::span<const std::uint8_t> object) {
    detail::FlatTlv fields = detail::read_object(object, "read the card capability container");
    CardCapabilityContainer out;
    for (const TlvNode& node : fields.nodes)
        read_field(node, out);
    if (fields.error)
        out.warnings.push_back("the card capability container is truncated: " + *fields.error);
    for (const Mandatory& m : kMandatory) {
        if (!fields.find(m.tag))
            out.warnings.push_back(std::string("no ") + m.name + " (" + tag_hex(m.tag) + ")");
    }
    return out;
}

}  // namespace cac::piv
