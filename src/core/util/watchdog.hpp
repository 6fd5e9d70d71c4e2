// The last resort behind a time bound: a thread that acts when the work overruns it.
//
// Between calls, the code checks its own deadline (the recovery policy does, and so does
// an APDU script) and fails with a precise error. What it cannot check is a call that
// never returns: a PKCS#11 module stuck on a card that stopped answering, an
// SCardTransmit waiting for a card that holds its answer back. Neither API can be
// cancelled from outside, so the only bound left is to end the process; the card is then
// released by pcscd as for any client that exits.
//
// The watchdog counts time the way an operator means "--timeout 5": time spent on cards
// and modules. So:
// - time spent waiting for a person (a PIN prompt, a PIN pad) does not count;
// - work that must finish (a PIN verification in flight: the card counts the try whether
//   or not the answer is heard) is given `Allowances::must_finish` more; when it ends past
//   the budget, the run gets `Allowances::after_must_finish` to report it before the
//   watchdog acts;
// - an expiry is reported once, through `on_expiry`, on the watchdog's own thread. That
//   function is expected to end the process; if it returns, the watchdog does nothing more.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace cac {

class Watchdog {
  public:
    using Clock = std::chrono::steady_clock;

    struct Expiry {
        Clock::duration budget{};
        // The C API call in flight when time ran out ("C_FindObjects"); nullptr if none.
        const char* call = nullptr;
        // A PIN verification was still in flight, past its extra allowance: the card may
        // have counted the try.
        bool verification_unfinished = false;
    };
    using OnExpiry = std::function<void(const Expiry&)>;

    struct Allowances {
        Clock::duration must_finish = std::chrono::seconds(60);
        Clock::duration after_must_finish = std::chrono::seconds(1);
    };

    // Starts counting now.
    Watchdog(Clock::duration budget, OnExpiry on_expiry, Allowances allowances);
    Watchdog(Clock::duration budget, OnExpiry on_expiry)
        : Watchdog(budget, std::move(on_expiry), Allowances{}) {}
    // Stops the thread; an expiry being reported at that moment is waited for.
    ~Watchdog();
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

  private:
    void watch();
    // The budget used so far: the time since the start, less the time spent waiting for
    // a person.
    Clock::duration used(Clock::time_point now) const;

    Clock::duration budget_;
    OnExpiry on_expiry_;
    Allowances allowances_;
    Clock::time_point start_;
    Clock::duration waited_at_start_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace cac
