#include "vpcd_link.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>

namespace cardsim {

namespace {

constexpr std::size_t kHeader = 2;

}  // namespace

VpcdLink::VpcdLink(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port) {}

std::string VpcdLink::address() const {
    return host_ + ":" + std::to_string(port_);
}

bool VpcdLink::connect(std::string& error) {
    close();
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    if (inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1) {
        error = "not an IPv4 address: " + host_;
        return false;
    }
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        error = errno_text(errno);
        return false;
    }
    // APDUs are small and strictly request/answer: waiting to coalesce them only adds delay.
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        state_ = State::connected;
    } else if (errno == EINPROGRESS) {
        state_ = State::connecting;
    } else {
        error = errno_text(errno);
        return false;
    }
    fd_ = std::move(fd);
    return true;
}

void VpcdLink::close() {
    fd_.reset();
    state_ = State::closed;
    in_.clear();
    out_.clear();
}

short VpcdLink::poll_events() const {
    switch (state_) {
        case State::connecting:
            return POLLOUT;
        case State::connected:
            return static_cast<short>(POLLIN | (out_.empty() ? 0 : POLLOUT));
        case State::closed:
            break;
    }
    return 0;
}

void VpcdLink::fail(Events& events, std::string why) {
    close();
    events.closed = true;
    events.error = std::move(why);
}

VpcdLink::Events VpcdLink::on_ready(short revents) {
    Events events;
    if (state_ == State::connecting) {
        finish_connect(events);
        return events;
    }
    if (state_ != State::connected) {
        return events;
    }
    if ((revents & (POLLIN | POLLHUP | POLLERR)) && !read_messages(events)) {
        return events;
    }
    if (revents & POLLOUT) {
        flush(events);
    }
    return events;
}

bool VpcdLink::finish_connect(Events& events) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        err = errno;
    }
    if (err != 0) {
        fail(events, errno_text(err));
        return false;
    }
    state_ = State::connected;
    events.connected = true;
    return true;
}

bool VpcdLink::read_messages(Events& events) {
    std::uint8_t buf[4096];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n == 0) {
        fail(events, "the reader closed the connection");
        return false;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
            return true;
        }
        fail(events, errno_text(errno));
        return false;
    }
    // The driver writes a message's length and its body with two send() calls. With
    // Nagle's algorithm on its side, the body waits for our ACK of the length, and Linux
    // delays that ACK by up to 40 ms: every APDU would cost 40 ms. Asking for quick ACKs
    // (which the kernel forgets after a while, hence after every read) removes the stall.
    int quick = 1;
    ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_QUICKACK, &quick, sizeof quick);
    in_.insert(in_.end(), buf, buf + n);
    std::size_t at = 0;
    while (in_.size() - at >= kHeader) {
        const std::size_t length = (std::size_t{in_[at]} << 8) | in_[at + 1];
        if (in_.size() - at - kHeader < length) {
            break;
        }
        const auto begin = in_.begin() + static_cast<std::ptrdiff_t>(at + kHeader);
        events.messages.emplace_back(begin, begin + static_cast<std::ptrdiff_t>(length));
        at += kHeader + length;
    }
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(at));
    return true;
}

bool VpcdLink::send(std::span<const std::uint8_t> payload, std::string& error) {
    if (state_ != State::connected) {
        error = "not connected";
        return false;
    }
    assert(payload.size() <= kMaxPayload);
    out_.push_back(static_cast<std::uint8_t>(payload.size() >> 8));
    out_.push_back(static_cast<std::uint8_t>(payload.size() & 0xFF));
    out_.insert(out_.end(), payload.begin(), payload.end());
    Events events;
    if (!flush(events)) {
        error = events.error;
        return false;
    }
    return true;
}

bool VpcdLink::flush(Events& events) {
    while (!out_.empty()) {
        const ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                return true;
            }
            fail(events, errno_text(errno));
            return false;
        }
        out_.erase(out_.begin(), out_.begin() + n);
    }
    return true;
}

}  // namespace cardsim
