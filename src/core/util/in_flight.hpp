// What the process is doing at this instant, for whoever may have to cut it short.
//
// A call into a PKCS#11 module or into PC/SC can block for as long as the module, the
// reader or the card likes, and nothing in those APIs bounds it from the outside. The
// CLI's --timeout watchdog ends the process when such a call overstays; to do that well
// it needs two facts from the core, kept here:
// - which C API call is in flight, so the error can name it ("C_FindObjects");
// - whether the work under way must be allowed to finish: a PIN verification counts
//   against the card's retry counter whether or not anyone is left to hear its answer,
//   so the operator has to learn how it went;
// - how long the process has spent waiting for a person (typing a PIN at the prompt or
//   on a reader's PIN pad): that time is not the card's, and no timeout should count it.
//
// Both are plain atomics: they are written by the thread doing the work and read by the
// watchdog's thread.
#pragma once

#include <chrono>

namespace cac::in_flight {

// Set and cleared around every traced C API call (core/util/traced_call.hpp). `call`
// must outlive the call: it is always a string literal.
void entered(const char* call) noexcept;
void left() noexcept;
// The call in flight, or nullptr between calls.
const char* call() noexcept;

// Held around work whose outcome the card records (C_Login, VERIFY).
class MustFinish {
  public:
    MustFinish() noexcept;
    ~MustFinish();
    MustFinish(const MustFinish&) = delete;
    MustFinish& operator=(const MustFinish&) = delete;
};

bool must_finish() noexcept;

// Held while a person is expected to act: a PIN prompt, a PIN pad.
class WaitingForPerson {
  public:
    WaitingForPerson() noexcept;
    ~WaitingForPerson();
    WaitingForPerson(const WaitingForPerson&) = delete;
    WaitingForPerson& operator=(const WaitingForPerson&) = delete;
};

// The time spent waiting for a person so far, the wait under way included. Waits do not
// nest: a WaitingForPerson inside another one adds nothing.
std::chrono::steady_clock::duration time_waiting_for_person() noexcept;
bool waiting_for_person() noexcept;

}  // namespace cac::in_flight
