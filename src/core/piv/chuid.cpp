#include "core/piv/chuid.hpp"

#include <algorithm>
#include <cctype>

#include "core/piv/dates.hpp"
#include "core/piv/flat_tlv.hpp"
#include "core/util/error.hpp"

namespace cac::piv {
namespace {

constexpr std::uint32_t kFascn = 0x30;
constexpr std::uint32_t kGuid = 0x34;
constexpr std::uint32_t kExpiration = 0x35;
constexpr std::uint32_t kCardholderUuid = 0x36;
constexpr std::uint32_t kKeyMap = 0x3D;  // deprecated since SP 800-73-3
constexpr std::uint32_t kSignature = 0x3E;

void read_fascn(const TlvNode& node, Chuid& out) {
    out.fascn_bytes = node.value;
    try {
        out.fascn = decode_fascn(node.value);
    } catch (const Error& e) {
        out.warnings.push_back("the FASC-N does not decode: " + e.reason());
    }
}

void read_expiration(const TlvNode& node, Chuid& out) {
    out.expiration.assign(node.value.begin(), node.value.end());
    out.expiration_date = date_from_yyyymmdd(out.expiration);
    if (!out.expiration_date)
        out.warnings.push_back("the expiration date (35) is not a date written YYYYMMDD");
}

void read_field(const TlvNode& node, Chuid& out) {
    switch (node.tag) {
        case kFascn:
            read_fascn(node, out);
            break;
        case kGuid:
            out.guid = node.value;
            break;
        case kExpiration:
            read_expiration(node, out);
            break;
        case kCardholderUuid:
            out.cardholder_uuid = node.value;
            break;
        case kKeyMap:
            out.warnings.push_back("a deprecated authentication key map (3D), ignored");
            break;
        case kSignature:
            out.signature_length = node.value.size();
            out.signature_present = !node.value.empty();
            break;
        default:
            break;
    }
}

void check_required(const detail::FlatTlv& fields, Chuid& out) {
    if (!fields.find(kFascn))
        out.warnings.push_back("no FASC-N (30)");
    if (out.guid.size() != 16)
        out.warnings.push_back(fields.find(kGuid) ? "the GUID (34) is not 16 bytes"
                                                  : "no GUID (34)");
    if (!fields.find(kSignature))
        out.warnings.push_back("no issuer signature (3E)");
    else if (!out.signature_present)
        out.warnings.push_back("the issuer signature (3E) is empty: the CHUID is not signed");
}

}  // namespace

Chuid parse_chuid(std::span<const std::uint8_t> object) {
    detail::FlatTlv fields = detail::read_object(object, "read the CHUID");
    Chuid out;
    for (const TlvNode& node : fields.nodes)
        read_field(node, out);
    if (fields.error)
        out.warnings.push_back("the CHUID is truncated: " + *fields.error);
    check_required(fields, out);
    return out;
}

}  // namespace cac::piv
