// Config files, hex strings and PKCS#11 text fields are read from files and modules that
// cactool does not control: none of them may crash or hang on any input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/util/config.hpp"
#include "core/util/error.hpp"
#include "core/util/hex.hpp"
#include "core/util/text.hpp"
#include "core/util/time.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        cac::Config config = cac::parse_config(text, "fuzz.json");
        (void)config;
    } catch (const cac::Error&) {
        // Rejecting the input is fine; crashing is not.
    }
    if (auto bytes = cac::parse_hex(text)) {
        if (cac::to_hex(*bytes).size() != bytes->size() * 2)
            __builtin_trap();
    }
    std::string field = cac::fixed_field_text(data, size);
    if (field.size() > size * 3)
        __builtin_trap();  // each byte becomes at most U+FFFD
    (void)cac::parse_rfc3339(text);
    return 0;
}
