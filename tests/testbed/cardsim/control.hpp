// The control socket: a Unix stream socket where any number of clients each write one
// command per line and get one JSON line per command, in order.
//
// An answer may come later than the command (a card inserted is answered once the reader
// has seen it), so a command gets a Reply to call when its answer is ready; while a client
// waits for one answer, its further lines wait too, which keeps its answers in order.
#pragma once

#include <poll.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loop.hpp"

namespace cardsim {

class ControlServer {
  public:
    using Reply = std::function<void(const nlohmann::json&)>;
    using Handler = std::function<void(const std::string& line, Reply reply)>;

    // Listens on `path`, replacing a stale socket file left by a crashed cardsim; throws
    // std::runtime_error when the path is taken by a live server or cannot be bound.
    ControlServer(std::filesystem::path path, Handler handler);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Adds the listening socket and every client to `fds`; `on_ready` is called with the
    // same entries after poll().
    void add_poll_fds(std::vector<pollfd>& fds);
    void on_ready(const std::vector<pollfd>& fds);

    // True when no answer is waiting to be written (so `quit` may exit now).
    bool flushed() const;

  private:
    struct Client;

    void accept_clients();
    void serve(Client& client);
    void dispatch(Client& client, const std::string& line);
    void read_from(Client& client);
    void write_to(Client& client);

    std::filesystem::path path_;
    Handler handler_;
    UniqueFd listener_;
    std::map<int, std::shared_ptr<Client>> clients_;
};

}  // namespace cardsim
