// One level of BER-TLV, as the PIV objects lay out their fields: a list of tags with
// their bytes, each nested template read again by the caller when it needs it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/apdu/tlv.hpp"

namespace cac::piv::detail {

struct FlatTlv {
    std::vector<TlvNode> nodes;  // every node primitive, its bytes in `value`
    // What stopped the reading before the end (the nodes before it are kept).
    std::optional<std::string> error;

    const TlvNode* find(std::uint32_t tag) const;
};

FlatTlv read_flat(std::span<const std::uint8_t> bytes);

// The value of `tag` when `bytes` is exactly that one TLV (trailing bytes allowed only
// when `allow_trailing`), else nullopt: how the parsers accept an object with or without
// its wrapper.
std::optional<Bytes> value_of_wrapper(std::span<const std::uint8_t> bytes, std::uint32_t tag,
                                      bool allow_trailing = false);

// A data object's fields: the value of its 53 wrapper when `object` is that wrapper (as
// GET DATA returns it), else `object` itself (the value alone, as get_data returns it).
Bytes object_fields(std::span<const std::uint8_t> object);

// The fields of a data object (object_fields, then read_flat). Throws
// Error(parse_error, `operation`) when not one field can be read; a later field that
// does not hold together is left in `error` for the caller's warnings.
FlatTlv read_object(std::span<const std::uint8_t> object, const std::string& operation);

}  // namespace cac::piv::detail
