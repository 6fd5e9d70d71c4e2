#include "core/util/log.hpp"

#include "core/util/text.hpp"

#include <cstdio>
#include <mutex>

namespace cac::log {
namespace {

struct State {
    std::mutex mutex;
    Level level = Level::warning;
    bool trace = false;
    std::function<void(std::string_view)> sink;
};

State& state() {
    static State s;
    return s;
}

void emit(std::string_view prefix, std::string_view category, std::string_view message) {
    std::string line;
    line.reserve(prefix.size() + category.size() + message.size() + 4);
    // Messages quote labels and names from tokens: one line each, whatever they hold.
    line.append(prefix).append(category).append(": ").append(printable_text(message)).append("\n");
    State& s = state();
    std::lock_guard lock(s.mutex);
    if (s.sink) {
        s.sink(line);
        return;
    }
    // One fwrite per line, so lines from several threads never interleave.
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

}  // namespace

void set_level(Level level) {
    state().level = level;
}
Level level() {
    return state().level;
}
void set_trace(bool enabled) {
    state().trace = enabled;
}
bool tracing() {
    return state().trace;
}
void set_sink(std::function<void(std::string_view)> sink) {
    std::lock_guard lock(state().mutex);
    state().sink = std::move(sink);
}

void warning(std::string_view category, std::string_view message) {
    if (level() >= Level::warning)
        emit("warning: ", category, message);
}

void info(std::string_view category, std::string_view message) {
    if (level() >= Level::info)
        emit("", category, message);
}

void debug(std::string_view category, std::string_view message) {
    if (level() >= Level::debug)
        emit("debug: ", category, message);
}

void trace(std::string_view category, std::string_view message) {
    if (tracing())
        emit("trace: ", category, message);
}

}  // namespace cac::log
