// cardctl's commands that act as an ordinary PC/SC client of the bed's pcscd, so their
// effect is exactly what a real card and reader would show to every other client.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace cardctl {

// What a command could not do: the exit status (1 refused, 3 timed out) and why.
struct Failure {
    int status;
    std::string message;
};

// Resets the card in `reader` through pcscd (SCardReconnect with SCARD_RESET_CARD), so
// every other handle to it gets SCARD_W_RESET_CARD on its next call. Throws Failure.
nlohmann::json reset_card(const std::string& reader);

// Waits until pcscd reports the card in `reader` present (with an ATR) or absent. pcscd
// may be restarting meanwhile: the wait keeps trying until `timeout`. Throws Failure
// (status 3 on time-out).
nlohmann::json wait_for_card(const std::string& reader, bool present,
                             std::chrono::milliseconds timeout);

}  // namespace cardctl
