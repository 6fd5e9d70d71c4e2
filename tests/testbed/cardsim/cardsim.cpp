// cardsim: the virtual PIV card of the test bed, connected to vsmartcard's vpcd driver in
// pcscd and driven by tests through a control socket (../README.md).
//
// One thread, one poll(): the vpcd connection, the control socket and its clients, a
// signalfd for SIGTERM and SIGINT, and the earliest timer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "apdu_log.hpp"
#include "control.hpp"
#include "loop.hpp"
#include "simulator.hpp"

namespace {

using cardsim::Clock;

constexpr const char* kUsage =
    "usage: cardsim --vpcd-port P [--vpcd-host 127.X.Y.Z] [--profile FILE] --export DIR\n"
    "               --control SOCKET [--apdu-log FILE] [--no-card] [--connect-timeout S]\n";

struct Options {
    cardsim::Settings settings;
    std::filesystem::path profile;
    std::filesystem::path control;
    std::filesystem::path apdu_log;
    std::chrono::milliseconds connect_timeout{10'000};
};

struct UsageError {
    std::string message;
};

std::optional<unsigned long> whole_number(const char* text, unsigned long max) {
    unsigned long value = 0;
    const char* end = text + std::strlen(text);
    const auto [ptr, ec] = std::from_chars(text, end, value);
    if (ptr == text || ec != std::errc() || ptr != end || value > max) {
        return std::nullopt;
    }
    return value;
}

std::uint16_t port_number(const char* value) {
    const auto port = whole_number(value, 65535);
    if (!port || *port == 0) {
        throw UsageError{"--vpcd-port must be a port number from 1 to 65535"};
    }
    return static_cast<std::uint16_t>(*port);
}

// The test bed sends nothing off the machine: vpcd is reached on loopback only.
std::string loopback_host(const char* value) {
    in_addr addr{};
    if (::inet_pton(AF_INET, value, &addr) != 1 || (ntohl(addr.s_addr) >> 24) != 127) {
        throw UsageError{std::string("--vpcd-host must be an IPv4 loopback address "
                                     "(127.0.0.0/8), not ") +
                         value};
    }
    return value;
}

std::chrono::milliseconds connect_seconds(const char* value) {
    const auto seconds = whole_number(value, 3600);
    if (!seconds || *seconds == 0) {
        throw UsageError{"--connect-timeout must be a number of seconds from 1 to 3600"};
    }
    return std::chrono::seconds(*seconds);
}

// The options that take a value, each with what it sets.
struct ValueOption {
    const char* name;
    void (*set)(Options&, const char*);
};

const ValueOption kValueOptions[] = {
    {"--vpcd-port", [](Options& o, const char* v) { o.settings.vpcd_port = port_number(v); }},
    {"--vpcd-host", [](Options& o, const char* v) { o.settings.vpcd_host = loopback_host(v); }},
    {"--profile", [](Options& o, const char* v) { o.profile = v; }},
    {"--export", [](Options& o, const char* v) { o.settings.export_dir = v; }},
    {"--control", [](Options& o, const char* v) { o.control = v; }},
    {"--apdu-log", [](Options& o, const char* v) { o.apdu_log = v; }},
    {"--connect-timeout",
     [](Options& o, const char* v) { o.connect_timeout = connect_seconds(v); }},
};

const ValueOption* find_value_option(const std::string& name) {
    for (const ValueOption& option : kValueOptions) {
        if (name == option.name) {
            return &option;
        }
    }
    return nullptr;
}

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string name = argv[i];
        const ValueOption* option = find_value_option(name);
        if (name == "--no-card") {
            options.settings.no_card = true;
        } else if (name == "--help" || name == "-h") {
            std::fputs(kUsage, stdout);
            std::exit(0);
        } else if (option == nullptr) {
            throw UsageError{"unknown option " + name};
        } else if (i + 1 < argc) {
            option->set(options, argv[++i]);
        } else {
            throw UsageError{name + " needs a value"};
        }
    }
    if (options.settings.vpcd_port == 0 || options.settings.export_dir.empty() ||
        options.control.empty()) {
        throw UsageError{"--vpcd-port, --export and --control are required"};
    }
    return options;
}

// SIGTERM and SIGINT arrive as readable data on a descriptor, so they end the loop
// between two events rather than in the middle of one.
cardsim::UniqueFd block_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    return cardsim::UniqueFd(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
}

int poll_timeout(const cardsim::Timers& timers, std::optional<Clock::time_point> deadline) {
    int timeout = timers.poll_timeout_ms();
    if (deadline) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
        const int until = static_cast<int>(std::max<long long>(left.count(), 0));
        timeout = timeout < 0 ? until : std::min(timeout, until);
    }
    return timeout;
}

// Runs until a signal, `quit`, or (at start) no connection within the timeout.
int run(const Options& options, cardsim::Simulator& sim, cardsim::ControlServer& control,
        cardsim::Timers& timers, const cardsim::UniqueFd& signals) {
    std::optional<Clock::time_point> deadline;
    if (!options.settings.no_card) {
        deadline = Clock::now() + options.connect_timeout;
    }
    sim.start();
    std::vector<pollfd> fds;
    std::vector<pollfd> control_fds;
    while (!(sim.quit_requested() && control.flushed())) {
        if (deadline && sim.ever_connected()) {
            deadline.reset();
        } else if (deadline && Clock::now() >= *deadline) {
            std::fprintf(stderr, "cardsim: cannot connect to vpcd at %s within %lld s: %s\n",
                         sim.link().address().c_str(),
                         static_cast<long long>(options.connect_timeout.count() / 1000),
                         sim.last_link_error().c_str());
            return 1;
        }
        fds.assign({{signals.get(), POLLIN, 0}, {sim.link().fd(), sim.link().poll_events(), 0}});
        control_fds.clear();
        control.add_poll_fds(control_fds);
        fds.insert(fds.end(), control_fds.begin(), control_fds.end());
        if (::poll(fds.data(), fds.size(), poll_timeout(timers, deadline)) < 0 && errno != EINTR) {
            std::perror("cardsim: poll");
            return 1;
        }
        if (fds[0].revents & POLLIN) {
            return 0;
        }
        if (fds[1].revents != 0) {
            sim.on_link_ready(fds[1].revents);
        }
        control.on_ready({fds.begin() + 2, fds.end()});
        timers.run_due();
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    try {
        options = parse_options(argc, argv);
    } catch (const UsageError& e) {
        std::fprintf(stderr, "cardsim: %s\n%s", e.message.c_str(), kUsage);
        return 2;
    }
    const cardsim::UniqueFd signals = block_signals();
    try {
        std::filesystem::create_directories(options.settings.export_dir);
        cardsim::ApduLog log(options.apdu_log);
        cardsim::Timers timers;
        cardsim::Simulator sim(options.settings,
                               cardsim::load_profile(options.profile, options.settings.export_dir),
                               log, timers);
        cardsim::ControlServer control(
            options.control,
            [&sim](const std::string& line, auto reply) { sim.handle_command(line, reply); });
        return run(options, sim, control, timers, signals);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cardsim: %s\n", e.what());
        return 1;
    }
}
