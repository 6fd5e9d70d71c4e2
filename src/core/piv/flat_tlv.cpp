#include "core/piv/flat_tlv.hpp"

namespace cac::piv::detail {

const TlvNode* FlatTlv::find(std::uint32_t tag) const {
    for (const TlvNode& node : nodes) {
        if (node.tag == tag)
            return &node;
    }
    return nullptr;
}

FlatTlv read_flat(std::span<const std::uint8_t> bytes) {
    // Depth 1 keeps every value as bytes; the generic family gives no tag a meaning, so
    // nothing is guessed from the tables of other objects.
    TlvOptions options;
    options.max_depth = 1;
    options.family = TagFamily::generic;
    TlvDocument doc = parse_tlv(bytes, options);
    FlatTlv flat;
    flat.nodes = std::move(doc.nodes);
    for (const TlvIssue& issue : doc.issues) {
        if (issue.error) {
            flat.error = issue.what + " at offset " + std::to_string(issue.offset);
            break;
        }
    }
    return flat;
}

std::optional<Bytes> value_of_wrapper(std::span<const std::uint8_t> bytes, std::uint32_t tag,
                                      bool allow_trailing) {
    FlatTlv flat = read_flat(bytes);
    if (flat.nodes.empty() || flat.nodes.front().tag != tag)
        return std::nullopt;
    if (!allow_trailing && (flat.nodes.size() > 1 || flat.error))
        return std::nullopt;
    return std::move(flat.nodes.front().value);
}

}  // namespace cac::piv::detail
