#include "core/pcsc/channel.hpp"

#include <algorithm>

#include "core/apdu/command.hpp"
#include "core/pcsc/features.hpp"

namespace cac::pcsc {

std::size_t max_apdu_size(const CardHandle& card) {
    ReaderFeatures features = read_features(card);
    if (!features.properties || !features.properties->max_apdu_data_size)
        return kMaxApduSize;
    std::size_t data = *features.properties->max_apdu_data_size;
    if (data <= kMaxShortData)
        return 4 + 1 + kMaxShortData + 1;
    return std::min(kMaxApduSize, 4 + 3 + data + 2);
}

}  // namespace cac::pcsc
