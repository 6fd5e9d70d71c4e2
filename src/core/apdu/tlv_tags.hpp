// The tag table behind tlv.cpp: names of PIV and CAC tags and how their values are read.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/apdu/tlv.hpp"

namespace cac::tlv_tags {

enum class Form {
    encoding,     // as the tag's constructed bit says
    primitive,    // bytes, whatever the bit says (tag 30 FASC-N, 70 certificate)
    constructed,  // TLVs, whatever the bit says (tag 53, CAC 50 and 51)
};

struct TagInfo {
    std::string_view name;
    Form form = Form::encoding;
};

TagInfo lookup(std::uint32_t tag, std::uint32_t parent, TagFamily family);

}  // namespace cac::tlv_tags
