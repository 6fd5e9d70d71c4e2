#include "core/piv/flat_tlv.hpp"

#include "core/util/error.hpp"

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

Bytes object_fields(std::span<const std::uint8_t> object) {
    if (!object.empty() && object[0] == 0x53) {
        std::optional<Bytes> value = value_of_wrapper(object, 0x53, true);
        if (value)
            return std::move(*value);
    }
    return Bytes(object.begin(), object.end());
}

FlatTlv read_object(std::span<const std::uint8_t> object, const std::string& operation) {
    FlatTlv fields = read_flat(object_fields(object));
    if (fields.nodes.empty())
        throw Error(CoreCode::parse_error, operation, fields.error.value_or("the object is empty"));
    return fields;
}

}  // namespace cac::piv::detail
