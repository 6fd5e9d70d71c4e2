// What cardsim's single-threaded event loop is made of: owned file descriptors and timers.
//
// Everything cardsim does waits in one poll(): the vpcd connection, the control socket and
// its clients, the signals, and the earliest timer (a delayed answer, a reconnect attempt,
// a reinsertion). Nothing sleeps and nothing spins.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>

namespace cardsim {

// One open file descriptor, closed when its owner goes away.
class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    void reset(int fd = -1) noexcept;

  private:
    int fd_ = -1;
};

using Clock = std::chrono::steady_clock;

// Callbacks due at a point in time. A callback may add or cancel timers.
class Timers {
  public:
    using Id = unsigned long;

    Id add(std::chrono::milliseconds after, std::function<void()> fn);
    void cancel(Id id);

    // How long poll() may wait before the earliest timer is due: -1 when none is set.
    int poll_timeout_ms() const;

    // Runs every callback whose time has come, in time order.
    void run_due();

  private:
    std::multimap<Clock::time_point, std::pair<Id, std::function<void()>>> due_;
    Id next_id_ = 1;
};

// The text of errno for messages: "Connection refused".
std::string errno_text(int err);

}  // namespace cardsim
