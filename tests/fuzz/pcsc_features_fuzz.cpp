// PC/SC part 10 answers come from reader drivers: the feature list and the TLV properties
// must parse or fail with an error, never read past the input. A parsed feature list
// accounts for every byte (six per entry). The same bytes, as a command APDU, must never
// show a PIN command's data in a trace.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "core/pcsc/features.hpp"
#include "core/pcsc/pcsc_api.hpp"
#include "core/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> bytes(data, size);
    try {
        auto features = cac::pcsc::parse_feature_list(bytes);
        if (features.size() * 6 != size)
            std::abort();
    } catch (const cac::Error& e) {
        (void)e.message();
    }
    try {
        auto properties = cac::pcsc::parse_tlv_properties(bytes);
        (void)properties;
    } catch (const cac::Error& e) {
        (void)e.message();
    }
    std::string traced = cac::pcsc::apdu_trace_text(bytes);
    bool pin_command = size > 5 && (data[1] == 0x20 || data[1] == 0x24 || data[1] == 0x2C);
    if (pin_command && traced.size() != std::string("00000000 <masked>").size())
        std::abort();
    return 0;
}
