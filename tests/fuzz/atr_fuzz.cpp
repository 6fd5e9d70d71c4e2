// ATRs come from whatever card is in the reader, and the ATR list from a file on disk:
// neither may crash the parser or make it read past its input. The input is read three
// ways: as an ATR, as historical bytes, and as the text of an ATR list that is then
// searched for the input's own first bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/card/atr.hpp"
#include "core/card/atr_identify.hpp"
#include "core/util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::uint8_t> input(data, size);
    try {
        cac::Atr atr = cac::parse_atr(input);
        std::size_t parts = atr.raw.size() + atr.historical.raw.size() + atr.trailing.size() +
                            (atr.tck ? 1 : 0) + 2 + atr.groups.size();
        (void)parts;
    } catch (const cac::Error& e) {
        (void)e.message();
    }

    std::vector<std::string> warnings;
    cac::HistoricalBytes historical = cac::parse_historical_bytes(input, warnings);
    (void)historical;

    cac::SmartcardList list(std::string(reinterpret_cast<const char*>(data), size));
    std::vector<std::string> found = list.lookup(input.first(std::min<std::size_t>(size, 33)));
    (void)found;
    return 0;
}
