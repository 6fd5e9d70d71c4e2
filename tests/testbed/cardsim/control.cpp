#include "control.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "apdu_log.hpp"

namespace cardsim {

namespace {

// Commands are a few words; anything longer is a client gone wrong, not a command.
constexpr std::size_t kMaxLine = 4096;
constexpr const char* kTooLong = "{\"error\":\"line too long\",\"ok\":false}\n";

sockaddr_un unix_address(const std::filesystem::path& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.native().size() >= sizeof addr.sun_path) {
        throw std::runtime_error("the control socket path is too long for a Unix socket (" +
                                 std::to_string(sizeof addr.sun_path - 1) +
                                 " bytes at most): " + path.string());
    }
    std::memcpy(addr.sun_path, path.c_str(), path.native().size());
    return addr;
}

// A socket file that nobody listens on is what a killed cardsim leaves behind.
void remove_stale_socket(const std::filesystem::path& path, const sockaddr_un& addr) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
        return;
    }
    if (!S_ISSOCK(st.st_mode)) {
        throw std::runtime_error("the control socket path exists and is not a socket: " +
                                 path.string());
    }
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
        throw std::runtime_error("another program serves the control socket " + path.string());
    }
    ::unlink(path.c_str());
}

}  // namespace

struct ControlServer::Client {
    UniqueFd fd;
    std::string in;
    std::string out;
    bool waiting = false;   // a command's answer is still to come
    bool serving = false;   // inside serve(): an answer given at once must not re-enter it
    bool skipping = false;  // discarding the rest of an over-long line
    bool eof = false;       // the client will send nothing more
};

ControlServer::ControlServer(std::filesystem::path path, Handler handler)
    : path_(std::move(path)), handler_(std::move(handler)) {
    const sockaddr_un addr = unix_address(path_);
    remove_stale_socket(path_, addr);
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listener_.valid() ||
        ::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_.get(), SOMAXCONN) != 0) {
        throw std::runtime_error("cannot listen on the control socket " + path_.string() + ": " +
                                 errno_text(errno));
    }
}

ControlServer::~ControlServer() {
    if (listener_.valid()) {
        ::unlink(path_.c_str());
    }
}

void ControlServer::add_poll_fds(std::vector<pollfd>& fds) {
    // A client whose socket failed while an answer was written from a timer is closed
    // already; its number may belong to another socket by now.
    std::erase_if(clients_, [](const auto& entry) { return !entry.second->fd.valid(); });
    fds.push_back({listener_.get(), POLLIN, 0});
    for (const auto& [fd, client] : clients_) {
        short events = client->out.empty() ? 0 : POLLOUT;
        if (!client->eof) {
            events |= POLLIN;
        }
        fds.push_back({fd, events, 0});
    }
}

void ControlServer::on_ready(const std::vector<pollfd>& fds) {
    for (const pollfd& p : fds) {
        if (p.revents == 0) {
            continue;
        }
        if (p.fd == listener_.get()) {
            accept_clients();
            continue;
        }
        const auto it = clients_.find(p.fd);
        if (it == clients_.end()) {
            continue;
        }
        const std::shared_ptr<Client> client = it->second;
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            read_from(*client);
        }
        if (p.revents & (POLLHUP | POLLERR)) {
            // Gone both ways: what it sent has been carried out, but no answer can reach it,
            // and poll() would report the hang-up again at once while the socket stays open.
            client->fd.reset();
        }
        if (client->fd.valid() && !client->out.empty()) {
            write_to(*client);
        }
        const bool done = client->eof && !client->waiting && client->out.empty();
        if (!client->fd.valid() || done) {
            clients_.erase(p.fd);
        }
    }
}

bool ControlServer::flushed() const {
    for (const auto& [fd, client] : clients_) {
        if (!client->out.empty()) {
            return false;
        }
    }
    return true;
}

void ControlServer::accept_clients() {
    for (;;) {
        const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        auto client = std::make_shared<Client>();
        client->fd.reset(fd);
        clients_.emplace(fd, std::move(client));
    }
}

void ControlServer::read_from(Client& client) {
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(client.fd.get(), buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            break;
        }
        if (n <= 0) {
            // The client may have shut down only its writing side and still wait for
            // answers; its last command counts even without a newline.
            client.eof = true;
            if (!client.in.empty()) {
                client.in.push_back('\n');
            }
            break;
        }
        client.in.append(buf, static_cast<std::size_t>(n));
        if (client.in.size() > kMaxLine * 4) {
            break;  // serve() handles this much first; poll() reports the rest again
        }
    }
    serve(client);
}

// Takes the client's complete lines one at a time; stops while an answer is outstanding.
void ControlServer::serve(Client& client) {
    client.serving = true;
    while (!client.waiting && client.fd.valid()) {
        const std::size_t end = client.in.find('\n');
        if (end == std::string::npos) {
            if (client.in.size() > kMaxLine) {
                client.in.clear();
                client.skipping = true;
                client.out += kTooLong;
            }
            break;
        }
        std::string line = client.in.substr(0, end);
        client.in.erase(0, end + 1);
        if (std::exchange(client.skipping, false)) {
            continue;
        }
        if (line.size() > kMaxLine) {
            client.out += kTooLong;
            continue;
        }
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        dispatch(client, line);
    }
    client.serving = false;
}

void ControlServer::dispatch(Client& client, const std::string& line) {
    client.waiting = true;
    std::weak_ptr<Client> weak = clients_.at(client.fd.get());
    handler_(line, [this, weak](const nlohmann::json& answer) {
        const auto target = weak.lock();
        if (!target || !target->fd.valid()) {
            return;
        }
        target->out += json_line(answer) + "\n";
        target->waiting = false;
        write_to(*target);
        if (!target->serving) {
            serve(*target);
        }
    });
}

void ControlServer::write_to(Client& client) {
    while (!client.out.empty()) {
        const ssize_t n = ::send(client.fd.get(), client.out.data(), client.out.size(),
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        if (n < 0) {
            client.fd.reset();
            client.out.clear();
            return;
        }
        client.out.erase(0, static_cast<std::size_t>(n));
    }
}

}  // namespace cardsim
