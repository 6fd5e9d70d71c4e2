#include "cli/pin_input.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <optional>

#include "cli/commands.hpp"
#include "core/util/error.hpp"
#include "core/util/in_flight.hpp"
#include "core/util/log.hpp"

namespace cac::cli {
namespace {

// Longer than any PIN or passphrase a token takes; more is not a PIN.
constexpr std::size_t max_pin_bytes = 256;

Error unavailable(std::string reason) {
    return Error(CoreCode::pin_unavailable, "read the PIN", std::move(reason));
}

// One line from a file descriptor, byte by byte so nothing past the line is consumed
// and no copy of the PIN lands in a stdio buffer.
Secret read_line(int fd, const std::string& source) {
    Secret pin;
    unsigned char buffer[max_pin_bytes + 1];
    std::size_t length = 0;
    while (length <= max_pin_bytes) {
        unsigned char c = 0;
        ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || c == '\n')
            break;
        buffer[length++] = c;
    }
    if (length > 0 && buffer[length - 1] == '\r')
        --length;
    if (length > max_pin_bytes) {
        wipe(buffer, sizeof buffer);
        throw unavailable(source + " holds more than " + std::to_string(max_pin_bytes) +
                          " bytes on its first line");
    }
    pin.assign(std::string_view(reinterpret_cast<char*>(buffer), length));
    wipe(buffer, sizeof buffer);
    if (pin.empty())
        throw unavailable(source + " gave an empty PIN");
    return pin;
}

Secret from_env(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr)
        throw unavailable("the environment variable " + quoted_unless_pin(name) + " is not set");
    std::string_view view(value);
    if (view.empty())
        throw unavailable("the environment variable " + name + " is empty");
    if (view.size() > max_pin_bytes)
        throw unavailable(name + " is too long to be a PIN");
    return Secret(view);
}

Secret from_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw unavailable("cannot open " + quoted_unless_pin(path) + ": " + std::strerror(errno));
    }
    struct stat info {};
    if (::fstat(fd, &info) != 0 || S_ISDIR(info.st_mode)) {
        ::close(fd);
        throw unavailable(path + " is a directory, not a PIN file");
    }
    if (S_ISREG(info.st_mode) && (info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        log::warning("cli", "the PIN file " + path + " can be read by other users; chmod 600 it");
    }
    try {
        Secret pin = read_line(fd, path);
        ::close(fd);
        return pin;
    } catch (...) {
        ::close(fd);
        throw;
    }
}

// While echo is off, a signal that ends the process (Ctrl-C at the prompt, a kill) must
// put the terminal back first, or the operator's shell is left typing blind. The handler
// only calls async-signal-safe functions: tcsetattr, write, sigaction, raise.
struct EchoGuard {
    static inline volatile sig_atomic_t fd = -1;
    static inline termios saved{};
    static constexpr int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    struct sigaction previous[std::size(signals)]{};

    static void on_signal(int signo) {
        if (fd >= 0) {
            ::tcsetattr(fd, TCSANOW, &saved);
            (void)!::write(fd, "\n", 1);
        }
        struct sigaction standard {};
        standard.sa_handler = SIG_DFL;
        ::sigaction(signo, &standard, nullptr);
        ::raise(signo);
    }

    EchoGuard(int terminal, const termios& original) {
        saved = original;
        fd = terminal;
        struct sigaction action {};
        action.sa_handler = on_signal;
        ::sigemptyset(&action.sa_mask);
        for (std::size_t i = 0; i < std::size(signals); ++i)
            ::sigaction(signals[i], &action, &previous[i]);
    }
    ~EchoGuard() {
        for (std::size_t i = 0; i < std::size(signals); ++i)
            ::sigaction(signals[i], &previous[i], nullptr);
        fd = -1;
    }
    EchoGuard(const EchoGuard&) = delete;
    EchoGuard& operator=(const EchoGuard&) = delete;
};

// Prompts on the terminal with echo off, restoring the terminal whatever happens.
Secret from_terminal(const std::string& what) {
    int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        fd = STDIN_FILENO;
    termios saved{};
    bool restore = ::tcgetattr(fd, &saved) == 0;
    std::optional<EchoGuard> guard;
    if (restore) {
        guard.emplace(fd, saved);
        termios quiet = saved;
        quiet.c_lflag &= ~tcflag_t(ECHO);
        ::tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    std::string prompt = "Enter " + what + ": ";
    (void)!::write(fd == STDIN_FILENO ? STDERR_FILENO : fd, prompt.data(), prompt.size());
    auto finish = [&] {
        if (restore)
            ::tcsetattr(fd, TCSAFLUSH, &saved);
        guard.reset();
        (void)!::write(fd == STDIN_FILENO ? STDERR_FILENO : fd, "\n", 1);
        if (fd != STDIN_FILENO)
            ::close(fd);
    };
    try {
        Secret pin = read_line(fd, "the terminal");
        finish();
        return pin;
    } catch (...) {
        finish();
        throw;
    }
}

}  // namespace

std::string quoted_unless_pin(const std::string& word) {
    bool digits = word.size() >= 4 && std::all_of(word.begin(), word.end(),
                                                  [](char c) { return c >= '0' && c <= '9'; });
    if (digits)
        return std::to_string(word.size()) + " digits (not shown: it may be a PIN)";
    return "'" + word + "'";
}

Error pin_on_command_line() {
    return Error(CoreCode::usage, "read the PIN",
                 "--pin is refused: a PIN on the command line is visible to other users")
        .with_hint("use --pin-stdin, --pin-env VAR or --pin-file PATH, or type it at the prompt");
}

void add_pin_options(CLI::App& app, PinOptions& options) {
    app.add_flag("--pin-stdin", options.from_stdin, "Read the PIN from the first line of stdin");
    app.add_option("--pin-env", options.env_var, "Read the PIN from this environment variable")
        ->check(nonempty_value());
    app.add_option("--pin-file", options.file, "Read the PIN from the first line of this file")
        ->check(nonempty_value());
    // Declared only so that it can be refused with a helpful message rather than an
    // "unknown option", and so its value is never taken for a subcommand argument.
    // "--pin" alone, with no value, is refused the same way.
    options.refused_option = app.add_option("--pin", options.refused)
                                 ->group("")
                                 ->expected(0, 1)
                                 ->allow_extra_args(false);
}

void check_pin_options(PinOptions& options) {
    if (options.refused_option != nullptr && options.refused_option->count() > 0) {
        wipe(options.refused.data(), options.refused.size());
        options.refused.clear();
        throw pin_on_command_line();
    }
    int sources =
        int(options.from_stdin) + int(!options.env_var.empty()) + int(!options.file.empty());
    if (sources > 1) {
        throw Error(CoreCode::usage, "read the PIN",
                    "give only one of --pin-stdin, --pin-env and --pin-file");
    }
}

std::optional<Secret> read_pin(const PinOptions& options, bool pin_pad, const std::string& what) {
    // A person may be typing, or a script feeding stdin at its own pace: not card time.
    in_flight::WaitingForPerson reading;
    if (options.from_stdin)
        return read_line(STDIN_FILENO, "stdin");
    if (!options.env_var.empty())
        return from_env(options.env_var);
    if (!options.file.empty())
        return from_file(options.file);
    if (pin_pad)
        return std::nullopt;
    if (::isatty(STDIN_FILENO))
        return from_terminal(what);
    throw unavailable("no PIN source was given and stdin is not a terminal");
}

}  // namespace cac::cli
