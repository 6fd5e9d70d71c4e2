#include "core/piv/printed.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/piv/dates.hpp"
#include "core/piv/flat_tlv.hpp"

namespace cac::piv {
namespace {

struct Field {
    std::uint32_t tag;
    const char* name;
    std::size_t max_bytes;
    bool mandatory;
    std::optional<std::string> PrintedInformation::*target;
};

constexpr std::array<Field, 8> kFields{{
    {0x01, "name", 125, true, &PrintedInformation::name},
    {0x02, "employee affiliation", 20, true, &PrintedInformation::employee_affiliation},
    {0x03, "employee affiliation line 2", 20, false,
     &PrintedInformation::employee_affiliation_line2},
    {0x04, "expiration date", 9, true, &PrintedInformation::expiration},
    {0x05, "agency card serial number", 20, true, &PrintedInformation::agency_card_serial},
    {0x06, "issuer identification", 15, true, &PrintedInformation::issuer},
    {0x07, "organization affiliation line 1", 20, false,
     &PrintedInformation::organization_affiliation1},
    {0x08, "organization affiliation line 2", 20, false,
     &PrintedInformation::organization_affiliation2},
}};

const Field* field_of(std::uint32_t tag) {
    for (const Field& field : kFields) {
        if (field.tag == tag)
            return &field;
    }
    return nullptr;
}

void read_field(const TlvNode& node, PrintedInformation& out) {
    const Field* field = field_of(node.tag);
    if (!field)
        return;  // FE, and tags of later revisions
    std::string text(node.value.begin(), node.value.end());
    if (text.size() > field->max_bytes) {
        out.warnings.push_back(std::string("the ") + field->name + " (" + tag_hex(node.tag) +
                               ") has " + std::to_string(text.size()) + " bytes, over " +
                               std::to_string(field->max_bytes));
    }
    if (node.tag == 0x03)
        out.warnings.push_back("an employee affiliation line 2 (03), from SP 800-73-1");
    if (node.tag == 0x04) {
        out.expiration_date = date_from_yyyymmmdd(text);
        if (!out.expiration_date)
            out.warnings.push_back("the expiration date (04) is not a date written YYYYMMMDD");
    }
    out.*field->target = std::move(text);
}

}  // namespace

PrintedInformation parse_printed_information(std::span<const std::uint8_t> object) {
    detail::FlatTlv fields = detail::read_object(object, "read the printed information");
    PrintedInformation out;
    for (const TlvNode& node : fields.nodes)
        read_field(node, out);
    if (fields.error)
        out.warnings.push_back("the printed information is truncated: " + *fields.error);
    for (const Field& field : kFields) {
        if (field.mandatory && !fields.find(field.tag))
            out.warnings.push_back(std::string("no ") + field.name + " (" + tag_hex(field.tag) +
                                   ")");
    }
    return out;
}

}  // namespace cac::piv
