// cardctl: how tests drive the card and the bed (README.md, "cardctl").
//
// Card commands go to cardsim's control socket and bed commands (pcscd, reader) to the
// harness's, both in $CACTOOL_TESTBED_DIR; the answer is printed on stdout as JSON (for
// `log`, one entry per line). `reset` and `wait` are not sent to cardsim: they are done
// as a PC/SC client of the bed's pcscd, so other clients see what a real card would make
// them see. Exit status: 0 done, 1 refused, 2 usage, 3 a wait timed out.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cardctl_pcsc.hpp"

namespace {

using cardctl::Failure;
using Args = std::vector<std::string>;

constexpr const char* kUsage =
    "usage: cardctl COMMAND [ARG...]   (inside a bed: uses CACTOOL_TESTBED_DIR)\n"
    "  status                          the card's state as JSON\n"
    "  remove | insert                 take the card out of the reader / put it back\n"
    "  reset                           reset the card through pcscd (SCARD_RESET_CARD)\n"
    "  delay MS [COUNT]                delay the next COUNT answers (default: all) by MS\n"
    "  garbage [COUNT]                 answer the next COUNT APDUs (default 1) with 6F\n"
    "  drop [--reinsert-after MS]      vanish on the next APDU; come back after MS\n"
    "  log [--clear]                   every exchange so far, one JSON object a line\n"
    "  profile FILE                    swap in a card made from another profile\n"
    "  restore                         a fresh card from the same profile, same keys\n"
    "  wait present|absent [--timeout S]  until pcscd sees the card so (default 10 s)\n"
    "  pcscd stop|start|restart        stop or start the bed's pcscd\n"
    "  reader add|remove               add or remove a vpcd reader entry (at most 8)\n";

// Answers from cardsim and the harness come within this; a pcscd restart or a profile
// with RSA keys to generate takes a few seconds, never a minute.
constexpr int kAnswerTimeoutMs = 60'000;

struct UsageError {
    std::string message;
};

std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value ? value : "";
}

std::optional<unsigned long> whole_number(const std::string& text, unsigned long min,
                                          unsigned long max) {
    unsigned long value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
        return std::nullopt;
    }
    return value;
}

void need(bool condition, const char* usage) {
    if (!condition) {
        throw UsageError{std::string("usage: cardctl ") + usage};
    }
}

// --- the control sockets -----------------------------------------------------------

class Socket {
  public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() { ::close(fd_); }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

void send_line(const Socket& sock, const std::string& text, const std::string& path) {
    std::size_t sent = 0;
    while (sent < text.size()) {
        const ssize_t n = ::send(sock.get(), text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            throw Failure{1, "failed to write to " + path + ": " + std::strerror(errno)};
        }
        sent += static_cast<std::size_t>(n);
    }
}

std::string read_line(const Socket& sock, const std::string& path) {
    std::string data;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(kAnswerTimeoutMs);
    while (data.find('\n') == std::string::npos) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{sock.get(), POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
            throw Failure{1, "no answer from " + path + " within " +
                                 std::to_string(kAnswerTimeoutMs / 1000) + " s"};
        }
        char buf[65536];
        const ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
        if (n <= 0) {
            throw Failure{1, path + " closed the connection without an answer"};
        }
        data.append(buf, static_cast<std::size_t>(n));
    }
    return data.substr(0, data.find('\n'));
}

// Sends one command line to `socket_name` in the bed's folder and returns the answer.
nlohmann::json ask(const std::string& socket_name, const std::string& line) {
    const std::string dir = env("CACTOOL_TESTBED_DIR");
    if (dir.empty()) {
        throw Failure{1,
                      "CACTOOL_TESTBED_DIR is not set: run cardctl inside a bed "
                      "(tests/testbed/run -- ...)"};
    }
    const std::string path = (std::filesystem::path(dir) / socket_name).string();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        throw Failure{1, "the socket path is too long: " + path};
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    const Socket sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        throw Failure{1, "failed to connect to " + path + ": " + std::strerror(errno)};
    }
    send_line(sock, line + "\n", path);
    const std::string answer = read_line(sock, path);
    nlohmann::json value = nlohmann::json::parse(answer, nullptr, false);
    if (value.is_discarded() || !value.is_object()) {
        throw Failure{1, path + " answered something that is not a JSON object: " + answer};
    }
    if (value.value("ok", false) != true) {
        throw Failure{1, value.value("error", std::string("refused without a reason"))};
    }
    return value;
}

void print(const nlohmann::json& value) {
    std::puts(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

std::string join(const Args& args) {
    std::string line;
    for (const std::string& arg : args) {
        line += (line.empty() ? "" : " ") + arg;
    }
    return line;
}

// --- the commands ---------------------------------------------------------------------

void card_command(const Args& args) {
    print(ask("cardsim.sock", join(args)));
}

void no_arguments(const Args& args) {
    need(args.size() == 1, (args[0] + " (takes no arguments)").c_str());
    card_command(args);
}

void delay(const Args& args) {
    const char* usage = "delay MS [COUNT]  (MS from 0, COUNT from 1)";
    need(args.size() == 2 || args.size() == 3, usage);
    need(whole_number(args[1], 0, 3'600'000).has_value(), usage);
    need(args.size() == 2 || whole_number(args[2], 1, 1'000'000).has_value(), usage);
    card_command(args);
}

void garbage(const Args& args) {
    const char* usage = "garbage [COUNT]  (COUNT from 1)";
    need(args.size() <= 2, usage);
    need(args.size() == 1 || whole_number(args[1], 1, 1'000'000).has_value(), usage);
    card_command(args);
}

void drop(const Args& args) {
    const char* usage = "drop [--reinsert-after MS]";
    need(args.size() == 1 || (args.size() == 3 && args[1] == "--reinsert-after"), usage);
    need(args.size() == 1 || whole_number(args[2], 0, 3'600'000).has_value(), usage);
    card_command(args);
}

void log(const Args& args) {
    need(args.size() == 1 || (args.size() == 2 && args[1] == "--clear"), "log [--clear]");
    const nlohmann::json answer = ask("cardsim.sock", join(args));
    for (const nlohmann::json& entry : answer.value("entries", nlohmann::json::array())) {
        print(entry);
    }
}

// The path is the caller's: cardsim runs in another folder, so it gets an absolute one.
void profile(const Args& args) {
    need(args.size() == 2 && !args[1].empty(), "profile FILE");
    print(ask("cardsim.sock", "profile " + std::filesystem::absolute(args[1]).string()));
}

std::string reader_name() {
    const std::string reader = env("CACTOOL_TESTBED_READER");
    if (reader.empty()) {
        throw Failure{1, "CACTOOL_TESTBED_READER is not set: run cardctl inside a bed"};
    }
    return reader;
}

void reset(const Args& args) {
    need(args.size() == 1, "reset");
    print(cardctl::reset_card(reader_name()));
}

std::chrono::milliseconds parse_seconds(const std::string& text, const char* usage) {
    double seconds = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, seconds);
    need(!text.empty() && ec == std::errc() && ptr == end && seconds > 0 && seconds <= 3600, usage);
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

void wait(const Args& args) {
    const char* usage = "wait present|absent [--timeout S]  (S above 0, at most 3600, default 10)";
    need(args.size() == 2 || (args.size() == 4 && args[2] == "--timeout"), usage);
    need(args[1] == "present" || args[1] == "absent", usage);
    const auto timeout =
        args.size() == 4 ? parse_seconds(args[3], usage) : std::chrono::milliseconds(10'000);
    print(cardctl::wait_for_card(reader_name(), args[1] == "present", timeout));
}

// The harness serves these; cardctl only checks the words and forwards the line.
void bed_command(const Args& args) {
    const bool pcscd = args[0] == "pcscd" && args.size() == 2 &&
                       (args[1] == "stop" || args[1] == "start" || args[1] == "restart");
    const bool reader =
        args[0] == "reader" && args.size() == 2 && (args[1] == "add" || args[1] == "remove");
    need(pcscd || reader, args[0] == "pcscd" ? "pcscd stop|start|restart" : "reader add|remove");
    print(ask("harness.sock", join(args)));
}

struct Command {
    const char* name;
    std::function<void(const Args&)> run;
};

const Command kCommands[] = {
    {"status", no_arguments},  {"remove", no_arguments}, {"insert", no_arguments},
    {"restore", no_arguments}, {"reset", reset},         {"delay", delay},
    {"garbage", garbage},      {"drop", drop},           {"log", log},
    {"profile", profile},      {"wait", wait},           {"pcscd", bed_command},
    {"reader", bed_command},
};

int run(const Args& args) {
    if (args.empty()) {
        throw UsageError{"a command is needed"};
    }
    if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    for (const Command& command : kCommands) {
        if (args[0] == command.name) {
            command.run(args);
            return 0;
        }
    }
    throw UsageError{"unknown command: " + args[0]};
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(Args(argv + 1, argv + argc));
    } catch (const UsageError& e) {
        std::fprintf(stderr, "cardctl: %s\n%s", e.message.c_str(), kUsage);
        return 2;
    } catch (const Failure& e) {
        std::fprintf(stderr, "cardctl: %s\n", e.message.c_str());
        return e.status;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cardctl: %s\n", e.what());
        return 1;
    }
}
