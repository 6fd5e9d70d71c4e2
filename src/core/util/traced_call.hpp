// One traced call into a C API (PKCS#11, PC/SC): measures how long it took and, only when
// tracing is on, writes "Name(arguments) = RESULT (0.123 ms)" under the API's category.
// Tracing or not, the call is named as the one in flight while it lasts (in_flight.hpp).
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "core/util/in_flight.hpp"
#include "core/util/log.hpp"

namespace cac::log {

class TracedCall {
  public:
    TracedCall(const char* category, const char* name)
        : category_(category), name_(name), on_(tracing()) {
        in_flight::entered(name);
        if (on_)
            start_ = std::chrono::steady_clock::now();
    }
    ~TracedCall() { in_flight::left(); }
    TracedCall(const TracedCall&) = delete;
    TracedCall& operator=(const TracedCall&) = delete;

    // `name_of` spells the result code; `describe` formats the arguments (and outputs)
    // after the call returned. Neither runs with tracing off.
    template <typename Code, typename NameOf, typename Describe>
    Code done(Code rv, NameOf&& name_of, Describe&& describe) const {
        if (!on_)
            return rv;
        std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start_;
        char ms[32];
        std::snprintf(ms, sizeof ms, " (%.3f ms)", took.count());
        trace(category_, std::string(name_) + "(" + describe() + ") = " + name_of(rv) + ms);
        return rv;
    }

  private:
    const char* category_;
    const char* name_;
    bool on_;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace cac::log
