#include "loop.hpp"

#include <unistd.h>

#include <cstring>

namespace cardsim {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
        reset(std::exchange(other.fd_, -1));
    }
    return *this;
}

void UniqueFd::reset(int fd) noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = fd;
}

Timers::Id Timers::add(std::chrono::milliseconds after, std::function<void()> fn) {
    const Id id = next_id_++;
    due_.emplace(Clock::now() + after, std::make_pair(id, std::move(fn)));
    return id;
}

void Timers::cancel(Id id) {
    for (auto it = due_.begin(); it != due_.end(); ++it) {
        if (it->second.first == id) {
            due_.erase(it);
            return;
        }
    }
}

int Timers::poll_timeout_ms() const {
    if (due_.empty()) {
        return -1;
    }
    const auto left = due_.begin()->first - Clock::now();
    if (left <= Clock::duration::zero()) {
        return 0;
    }
    // Rounded up: waking a little early would only make the loop go round once more.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<long long>(ms, 60'000));
}

void Timers::run_due() {
    while (!due_.empty() && due_.begin()->first <= Clock::now()) {
        auto fn = std::move(due_.begin()->second.second);
        due_.erase(due_.begin());
        fn();
    }
}

std::string errno_text(int err) {
    return std::strerror(err);
}

}  // namespace cardsim
