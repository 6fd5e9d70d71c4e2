#include "core/card/pin_policy.hpp"

namespace cac {

std::optional<int> retries_left(const PinStatus& pin) {
    if (pin.locked)
        return 0;
    if (pin.final_try)
        return 1;
    return std::nullopt;
}

bool login_could_lock(std::optional<int> retries_left, int threshold) {
    if (!retries_left)
        return false;
    return *retries_left == 0 || *retries_left <= threshold;
}

bool count_low(std::optional<int> retries_left, int threshold) {
    return retries_left && *retries_left > 0 && login_could_lock(*retries_left - 1, threshold);
}

}  // namespace cac
