// `cactool watch`: reader and card events as they happen, from pcscd's event API.
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/commands.hpp"
#include "cli/reader_selection.hpp"
#include "core/pcsc/monitor.hpp"
#include "core/util/log.hpp"

extern char** environ;

namespace cac::cli {
namespace {

struct WatchOptions {
    bool once = false;
    bool wait_card = false;
    std::string exec;
};

// RFC 3339 in UTC with milliseconds: sortable, and the same whatever the local zone.
std::string timestamp(std::chrono::system_clock::time_point time) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());
    std::time_t seconds = std::time_t(ms.count() / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[40];
    std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(text + n, sizeof text - n, ".%03dZ", int(ms.count() % 1000));
    return text;
}

struct EventText {
    std::string time;
    std::string event;
    std::string reader;
    std::string atr;
};

EventText describe(const pcsc::Event& event) {
    return {timestamp(event.time), std::string(pcsc::to_string(event.kind)), event.reader,
            to_hex(event.atr)};
}

void print_event(const Output& out, const EventText& e) {
    if (out.json()) {
        Json line{{"time", e.time},
                  {"event", e.event},
                  {"reader", e.reader.empty() ? Json(nullptr) : Json(e.reader)},
                  {"atr", e.atr.empty() ? Json(nullptr) : Json(e.atr)}};
        std::cout << line.dump() << '\n';
    } else {
        std::string text = e.time + "  " + e.event;
        if (!e.reader.empty())
            text += "  " + terminal_safe(e.reader);
        if (!e.atr.empty())
            text += "  " + e.atr;
        std::cout << text << '\n';
    }
    // Each event is worth something on its own to whoever reads the pipe.
    std::cout.flush();
}

// Runs `command` with /bin/sh and waits for it, so that commands see the events in
// order. It must not write into the JSON Lines stream: with --json its stdout goes to
// stderr. Its failure is reported and watching goes on.
void run_exec(const Output& out, const std::string& command, const EventText& e) {
    std::vector<std::string> env_text;
    for (char** v = environ; *v != nullptr; ++v) {
        std::string_view entry(*v);
        if (!entry.starts_with("CACTOOL_EVENT=") && !entry.starts_with("CACTOOL_READER=") &&
            !entry.starts_with("CACTOOL_ATR=") && !entry.starts_with("CACTOOL_TIME="))
            env_text.emplace_back(entry);
    }
    env_text.push_back("CACTOOL_EVENT=" + e.event);
    env_text.push_back("CACTOOL_READER=" + e.reader);
    env_text.push_back("CACTOOL_ATR=" + e.atr);
    env_text.push_back("CACTOOL_TIME=" + e.time);
    std::vector<char*> envp;
    for (std::string& entry : env_text)
        envp.push_back(entry.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (out.json())
        posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    // The child must not inherit the blocked SIGINT/SIGTERM of this process.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);

    std::string shell = "/bin/sh", dash_c = "-c", script = command;
    char* argv[] = {shell.data(), dash_c.data(), script.data(), nullptr};
    pid_t pid = 0;
    int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        std::fprintf(stderr, "cactool: warning: --exec could not start /bin/sh: %s\n",
                     std::strerror(rc));
        return;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "cactool: warning: --exec command exited %d for %s\n",
                     WEXITSTATUS(status), e.event.c_str());
    } else if (WIFSIGNALED(status)) {
        std::fprintf(stderr, "cactool: warning: --exec command killed by signal %d for %s\n",
                     WTERMSIG(status), e.event.c_str());
    }
}

// SIGINT and SIGTERM are taken by a thread of their own, which cancels the monitor's
// wait: pcsc-lite takes locks, so SCardCancel cannot be called from a signal handler.
// After a stop signal the thread cancels again every 50 ms until the destructor says the
// main loop is done, because a cancel made just before pcsc-lite starts waiting is lost.
class SignalWatcher {
  public:
    explicit SignalWatcher(pcsc::Monitor& monitor) {
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        sigaddset(&set_, SIGUSR1);  // "stop watching for signals" from the destructor
        pthread_sigmask(SIG_BLOCK, &set_, &previous_);
        thread_ = std::thread([this, &monitor] {
            int signal = 0;
            while (sigwait(&set_, &signal) != 0) {
            }
            if (signal == SIGUSR1)
                return;
            stopped_ = true;
            sigset_t done;
            sigemptyset(&done);
            sigaddset(&done, SIGUSR1);
            const timespec every{0, 50'000'000};
            do {
                monitor.cancel();
            } while (sigtimedwait(&done, nullptr, &every) != SIGUSR1);
        });
    }
    ~SignalWatcher() {
        pthread_kill(thread_.native_handle(), SIGUSR1);
        thread_.join();
        pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

    bool stopped() const { return stopped_; }

  private:
    sigset_t set_{};
    sigset_t previous_{};
    std::atomic<bool> stopped_ = false;
    std::thread thread_;
};

bool card_in(const std::vector<pcsc::Reader>& readers, const std::string& selected) {
    for (const pcsc::Reader& reader : readers) {
        if ((selected.empty() || reader.name == selected) && !reader.atr.empty())
            return true;
    }
    return false;
}

int run_watch(Context& ctx, const WatchOptions& options) {
    pcsc::Monitor monitor;
    std::string selected;
    if (!ctx.options.reader.empty()) {
        std::vector<std::string> names;
        for (const pcsc::Reader& reader : monitor.readers())
            names.push_back(reader.name);
        selected = select_reader(names, ctx.options.reader);
    }
    if (options.wait_card && card_in(monitor.readers(), selected))
        return exit_ok;

    // Without --timeout, watch until stopped; the global default bounds card operations,
    // not how long someone wants to watch.
    using std::chrono::milliseconds;
    bool bounded = !ctx.options.timeout.empty();
    auto deadline =
        std::chrono::steady_clock::now() + milliseconds(std::llround(ctx.timeout_seconds * 1000));

    SignalWatcher signals(monitor);
    while (!signals.stopped()) {
        milliseconds wait = pcsc::Monitor::forever;
        if (bounded) {
            auto left = std::chrono::duration_cast<milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
            if (left <= milliseconds(0))
                break;
            wait = left;
        }
        for (const pcsc::Event& event : monitor.next(wait)) {
            if (!selected.empty() && !event.reader.empty() && event.reader != selected)
                continue;
            EventText text = describe(event);
            print_event(ctx.out, text);
            if (!options.exec.empty())
                run_exec(ctx.out, options.exec, text);
            if (options.once)
                return exit_ok;
            if (options.wait_card && event.kind == pcsc::EventKind::card_inserted)
                return exit_ok;
        }
    }
    if (signals.stopped())
        return exit_ok;
    // The time ran out: for --wait-card and --once, what was awaited did not come. That
    // is an answer (exit 3), not a failure of the stack, so it is said on stderr and not
    // journaled; with --json, stdout keeps only the events.
    if (options.wait_card || options.once) {
        if (log::level() != log::Level::quiet) {
            std::cerr << "cactool: "
                      << (options.wait_card ? "no card was present" : "no event came") << " within "
                      << ctx.options.timeout << " s\n";
        }
        return exit_not_found;
    }
    return exit_ok;
}

}  // namespace

Runner setup_watch(CLI::App& app) {
    auto options = std::make_shared<WatchOptions>();
    app.add_flag("--once", options->once, "Stop after the first event");
    app.add_flag("--wait-card", options->wait_card,
                 "Wait until a card is present, then exit 0 (3 on timeout)");
    app.add_option("--exec", options->exec,
                   "Run CMD with /bin/sh for each event (CACTOOL_EVENT, CACTOOL_READER, "
                   "CACTOOL_ATR, CACTOOL_TIME in its environment)")
        ->type_name("CMD")
        ->check(nonempty_value());
    return [options](Context& ctx) { return run_watch(ctx, *options); };
}

}  // namespace cac::cli
