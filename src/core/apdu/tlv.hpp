// BER-TLV as smart cards use it (ISO/IEC 7816-4:2013 clause 6.3, a subset of X.690 8.1):
// tags of one to four bytes (a first byte with low bits 11111 continues while bit 8 is
// set), lengths in short form (00..7F) or long form 81..84 followed by one to four bytes.
// The indefinite length (80) is refused, as 7816-4 does not allow it.
//
// Parsing never reads past the input and never throws for bad bytes: it returns what it
// could decode and a list of issues with their offsets. A problem that stops a sequence
// (an overrun, a bad length) is an error; bytes that cannot be read as TLV inside a
// constructed object make that object's value plain bytes with a warning, because PIV
// data objects use tags whose constructed bit says nothing (tag 30 is the FASC-N, tag 53
// wraps TLVs without the bit). Nesting deeper than `max_depth` stays as bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/hex.hpp"

namespace cac {

struct TlvNode {
    std::uint32_t tag = 0;   // the tag bytes as one number: 5F C1 05 is 0x5FC105
    std::size_t offset = 0;  // where the tag starts in the parsed input
    std::size_t header_size = 0;
    std::size_t length = 0;
    bool constructed = false;  // decoded as children (else `value` holds the bytes)
    Bytes value;
    std::vector<TlvNode> children;

    static TlvNode primitive(std::uint32_t tag, Bytes value);
    static TlvNode nest(std::uint32_t tag, std::vector<TlvNode> children);
    // The first child (at any depth, depth-first) with `tag`, or nullptr.
    const TlvNode* find(std::uint32_t tag) const;
};

struct TlvIssue {
    std::size_t offset;
    std::string what;
    bool error;  // false: a warning, the bytes were kept
};

// Which family's names and forms apply to the tags.
enum class TagFamily { piv, cac, generic };

struct TlvOptions {
    std::size_t max_depth = 16;
    std::size_t max_size = 1 << 20;
    TagFamily family = TagFamily::piv;
};

struct TlvDocument {
    std::vector<TlvNode> nodes;
    std::vector<TlvIssue> issues;

    bool has_errors() const;
    const TlvNode* find(std::uint32_t tag) const;
};

TlvDocument parse_tlv(std::span<const std::uint8_t> bytes, const TlvOptions& options = {});

// Minimal BER encoding (the shortest length form). Throws cac::Error (usage) for a tag
// that is not a well-formed tag number or a value over 2^32-1 bytes.
Bytes encode_tlv(const TlvNode& node);
Bytes encode_tlv(std::span<const TlvNode> nodes);

// The tag's hex spelling, upper case: "5FC105".
std::string tag_hex(std::uint32_t tag);

// What a tag is called in `family`'s data objects, given its parent (0 at the top). Empty
// when unknown.
std::string_view tag_name(std::uint32_t tag, std::uint32_t parent,
                          TagFamily family = TagFamily::piv);
// The name of a PIV data object by its identifier (SP 800-73-4 part 1 table 3): 0x5FC105
// is "X.509 Certificate for PIV Authentication", 0x7E the Discovery Object. Empty if none.
std::string_view piv_object_name(std::uint32_t object_id);

// {"nodes": [{"tag": "53", "name": ..., "offset": 0, "length": 3, "value": "..."} or
// "children": [...]], "issues": [{"offset", "severity", "message"}]}. A 5C tag list also
// gets "object" with the PIV object's name.
nlohmann::json tlv_to_json(const TlvDocument& doc, TagFamily family = TagFamily::piv);

}  // namespace cac
