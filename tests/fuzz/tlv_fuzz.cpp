// BER-TLV from cards: parse within bounds, render as JSON, and re-encode what parsed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/apdu/tlv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    cac::TlvOptions options;
    options.family = size % 2 ? cac::TagFamily::piv : cac::TagFamily::cac;
    cac::TlvDocument doc = cac::parse_tlv({data, size}, options);
    for (const cac::TlvIssue& issue : doc.issues) {
        if (issue.offset > size)
            std::abort();
    }
    (void)cac::tlv_to_json(doc, options.family).dump();
    if (!doc.has_errors()) {
        // A clean parse re-encodes to no more bytes than it came from (lengths may shrink
        // to their minimal form) and parses again to the same encoding.
        cac::Bytes again = cac::encode_tlv(doc.nodes);
        if (again.size() > size)
            std::abort();
        if (cac::encode_tlv(cac::parse_tlv(again, options).nodes) != again)
            std::abort();
    }
    return 0;
}
