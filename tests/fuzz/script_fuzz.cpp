// APDU scripts come from files and stdin: reading them must never crash, and errors name
// a line and column.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/apdu/script.hpp"
#include "core/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        cac::Script script = cac::parse_script(text);
        for (const cac::ScriptStep& step : script.steps) {
            if (step.kind == cac::ScriptStep::Kind::apdu)
                (void)step.command.encode();
        }
    } catch (const cac::Error& e) {
        if (e.reason().rfind("line ", 0) != 0)
            std::abort();
    }
    return 0;
}
