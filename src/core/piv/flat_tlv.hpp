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

}  // namespace cac::piv::detail
