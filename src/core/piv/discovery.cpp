#include "core/piv/discovery.hpp"

#include "core/piv/flat_tlv.hpp"
#include "core/util/error.hpp"

namespace cac::piv {

DiscoveryObject parse_discovery(std::span<const std::uint8_t> object) {
    const char* operation = "read the discovery object";
    Bytes value(object.begin(), object.end());
    if (!object.empty() && object[0] == 0x7E) {
        std::optional<Bytes> inner = detail::value_of_wrapper(object, 0x7E, true);
        if (!inner)
            throw Error(CoreCode::parse_error, operation, "the 7E template does not hold together");
        value = std::move(*inner);
    }
    DiscoveryObject out;
    if (value.empty()) {
        out.warnings.push_back("the discovery object is empty: no PIN usage policy");
        return out;
    }
    detail::FlatTlv fields = detail::read_flat(value);
    if (fields.nodes.empty())
        throw Error(CoreCode::parse_error, operation, fields.error.value_or("no TLV"));
    if (fields.error)
        out.warnings.push_back("the discovery object is cut short: " + *fields.error);
    if (const TlvNode* aid = fields.find(0x4F))
        out.aid = aid->value;
    const TlvNode* policy = fields.find(0x5F2F);
    if (!policy) {
        out.warnings.push_back("no PIN usage policy (5F2F)");
    } else if (policy->value.empty()) {
        out.warnings.push_back("the PIN usage policy (5F2F) is empty");
    } else {
        // The first byte alone still says which PINs count; a missing second byte names
        // no primary one.
        std::uint8_t second = policy->value.size() > 1 ? policy->value[1] : 0;
        out.policy = PinUsagePolicy{policy->value[0], second};
        if (policy->value.size() != 2)
            out.warnings.push_back("the PIN usage policy has " +
                                   std::to_string(policy->value.size()) + " bytes, not 2");
    }
    return out;
}

}  // namespace cac::piv
