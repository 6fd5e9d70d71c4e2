// The test bed's fault module reads its configuration from a file a test writes; a
// mistaken one must be refused with a reason, never crash the client that loaded the
// module. A configuration that parses is then applied to token and slot info and to a
// slot list, so a rewrite can never write past a field.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "../testbed/fault/config.hpp"
#include "../testbed/fault/rewrite.hpp"

namespace {

void apply(const fault::Config& config) {
    CK_TOKEN_INFO token;
    std::memset(&token, ' ', sizeof token);
    fault::rewrite_token_info(config.token_info, 1, token);
    CK_SLOT_INFO slot;
    fault::fill_empty_slot_info(slot);
    fault::rewrite_slot_info(config.slot_info, 1, slot);
    std::vector<CK_SLOT_ID> slots = fault::rewrite_slot_list(config.slot_list, {1, 2, 3}, false);
    if (slots.size() > 3 + config.slot_list.add_empty.size())
        __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        apply(fault::parse_config(text));
    } catch (const fault::ConfigError&) {
        // Refusing the input is fine; crashing is not.
    }
    return 0;
}
