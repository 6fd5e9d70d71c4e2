// Command APDUs typed by users and read from scripts: parsing hex text must never crash,
// and whatever parses must encode back to the bytes it was read from.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/apdu/command.hpp"
#include "core/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    cac::ApduCommand::HexProblem problem;
    auto cmd = cac::ApduCommand::parse(text, problem);
    if (!cmd) {
        if (problem.position > size)
            std::abort();  // a position outside the text
        return 0;
    }
    cac::Bytes encoded = cmd->encode();
    if (cac::ApduCommand::decode(encoded).encode() != encoded)
        std::abort();
    (void)cmd->describe();
    return 0;
}
